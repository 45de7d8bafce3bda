// Copyright the gem authors. A custom task whose graded code attacks gemd (issue 16), for the
// sandbox tests through a real gemd, with and without systemd.
//
// A code task's asserts and grader params are the task author's: with the mbpp grader, the
// params' `imports` run before the model's code. So anyone who may register a tree can make
// gemd run any Python: exactly what the sandbox must hold. Each query runs one attack in
// `imports` and records in _gem_ok whether it was stopped; its assert then passes only when the
// attack ran and was stopped. The prompts are the demo tree's additions, whose models answer
// with a number: valid Python, so the program compiles and the attack runs. Every query asks
// the same question, so a model's answer compiles for all attacks or for none.
#ifndef GEM_TESTS_SERVICE_ATTACK_TASK_H_
#define GEM_TESTS_SERVICE_ATTACK_TASK_H_

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gem::testing {

struct AttackOptions {
  std::string gemd_socket;            // the ipc socket gemd listens on
  std::string data_dir;               // gemd's data dir
  std::vector<int64_t> forbidden;     // uids and gids the code must not have (gemd's, callers')
  int64_t uid_min = 1, uid_max = -1;  // when uid_max >= 0: the range its uid must be in
  std::string sleep_marker;           // argv[1] of the `sleep` an escapee runs
};

// The attacks, in query order (ids "socket", "udp", "tcp", "uid", "files", "escape").
inline std::vector<std::string> AttackIds() {
  return {"socket", "udp", "tcp", "uid", "files", "escape"};
}

inline std::string AttackTaskJsonl(const AttackOptions& o) {
  auto list = [](const std::vector<int64_t>& v) {
    std::string s = "(";
    for (int64_t x : v) s += std::to_string(x) + ",";
    return s + ")";
  };
  // Issue 16's attack: a ZMTP 3.0 DEALER on gemd's socket that sends {"type": "shutdown"}.
  const std::string socket_attack =
      "import socket, struct\n"
      "_gem_ok, _gem_why = True, 'blocked'\n"
      "try:\n"
      "    _s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
      "except OSError as e:\n"
      "    _gem_why = 'socket(): %s' % e\n"
      "else:\n"
      "    try:\n"
      "        _s.settimeout(2)\n"
      "        _s.connect('" +
      o.gemd_socket +
      "')\n"
      "        _s.sendall(b'\\xff' + b'\\0' * 8 + b'\\x7f\\x03\\x00NULL' + b'\\0' * 16 + b'\\0' * "
      "32)\n"
      "        _s.recv(64)\n"
      "        _b = b'\\x05READY\\x0bSocket-Type' + struct.pack('>I', 6) + b'DEALER'\n"
      "        _s.sendall(bytes([4, len(_b)]) + _b)\n"
      "        _s.recv(256)\n"
      "        _m = b'\\x84\\xa1v\\x01\\xa2id\\x01\\xa4type\\xa8shutdown\\xa4body\\x80'\n"
      "        _s.sendall(b'\\x01\\x00' + bytes([0, len(_m)]) + _m)\n"
      "        _s.recv(256)\n"
      "        _gem_ok, _gem_why = False, 'sent shutdown to gemd'\n"
      "    except OSError as e:\n"
      "        _gem_why = 'connect: %s' % e\n";
  auto socket_of = [](const char* family, const char* type) {
    return std::string(
               "import socket\n"
               "try:\n"
               "    socket.socket(socket.") +
           family + ", socket." + type +
           ")\n"
           "    _gem_ok, _gem_why = False, 'made a socket'\n"
           "except OSError as e:\n"
           "    _gem_ok, _gem_why = True, str(e)\n";
  };
  const std::string uid_check =
      "import os\n"
      "_ids = {os.getuid(), os.geteuid(), os.getgid(), os.getegid()} | set(os.getgroups())\n"
      "_bad = _ids & set(" +
      list(o.forbidden) +
      ")\n"
      "_gem_ok = not _bad and os.getuid() >= " +
      std::to_string(o.uid_min) +
      (o.uid_max >= 0 ? " and os.getuid() <= " + std::to_string(o.uid_max) : std::string()) +
      "\n"
      "_gem_why = 'ids %s' % sorted(_ids)\n";
  const std::string files =
      "import os, glob\n"
      "_gem_ok, _gem_why = True, 'nothing readable'\n"
      "for _p in ['" +
      o.data_dir + "', '" + o.data_dir +
      "/db'] + glob.glob('/tmp/gem-sandbox-*'):\n"
      "    if os.path.abspath(_p) == os.getcwd():\n"
      "        continue\n"
      "    try:\n"
      "        os.listdir(_p)\n"
      "        _gem_ok, _gem_why = False, 'listed ' + _p\n"
      "    except OSError:\n"
      "        pass\n";
  const std::string escape =
      "import os\n"
      "if os.fork() == 0:\n"
      "    os.setsid()\n"
      "    if os.fork() == 0:\n"
      "        os.execv('/bin/sleep', ['sleep', '" +
      o.sleep_marker +
      "'])\n"
      "    os._exit(0)\n"
      "os.wait()\n"
      "_gem_ok, _gem_why = True, 'an escapee sleeps'\n";
  const std::vector<std::string> attacks = {socket_attack,
                                            socket_of("AF_INET", "SOCK_DGRAM"),
                                            socket_of("AF_INET", "SOCK_STREAM"),
                                            uid_check,
                                            files,
                                            escape};
  std::string out =
      nlohmann::json{{"format", "gem-task/1"}, {"grader", "mbpp"}, {"max_new_tokens", 4}}.dump() +
      "\n";
  const auto ids = AttackIds();
  for (size_t i = 0; i < attacks.size(); ++i) {
    nlohmann::json q = {
        {"id", ids[i]},
        {"prompt", "What is 0+5?"},  // one answer per model: all compile, or none
        {"answer", nlohmann::json::array({"assert _gem_ok, _gem_why"})},
        {"grader",
         {{"name", "mbpp"},
          {"imports", nlohmann::json::array({attacks[i]})},
          {"timeout_ms", 4000}}},
    };
    out += q.dump() + "\n";
  }
  return out;
}

// Checks the verdicts of an attack task's export (gem-matrix CSV of one variant): a model whose
// output compiled ran every attack, so each of its cells must be 1 (attack stopped); a model
// whose output did not compile ran none (all 0). Returns how many models ran the attacks, and
// adds a failure naming each attack that got through.
inline int CheckAttackVerdicts(const std::string& exported, const std::string& what) {
  int ran = 0;
  std::vector<std::string> header;
  size_t pos = 0;
  while (pos < exported.size()) {
    size_t end = exported.find('\n', pos);
    if (end == std::string::npos) end = exported.size();
    std::string line = exported.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cells;
    for (size_t b = 0;;) {
      size_t c = line.find(',', b);
      cells.push_back(line.substr(b, c == std::string::npos ? std::string::npos : c - b));
      if (c == std::string::npos) break;
      b = c + 1;
    }
    if (cells[0] == "model") {
      header = cells;
      continue;
    }
    int ones = 0, zeros = 0;
    for (size_t i = 2; i < cells.size(); ++i) (cells[i] == "1" ? ones : zeros) += 1;
    if (ones == 0) continue;  // its output did not compile: no attack ran
    ++ran;
    for (size_t i = 2; i < cells.size(); ++i) {
      if (cells[i] != "1") {
        ADD_FAILURE() << what << ": attack '" << (i < header.size() ? header[i] : "?")
                      << "' was not stopped for model " << cells[0];
      }
    }
  }
  return ran;
}

}  // namespace gem::testing

#endif  // GEM_TESTS_SERVICE_ATTACK_TASK_H_
