// Copyright the gem authors. The shipped demo tree (data/demo_tree) rebuilt as a Hugging Face
// model store, for the tree scan tests: what `gemctl tree scan` meets in the wild.
//
//   <out>/hub/models--demo--<name>/{refs/main, snapshots/<commit>/..., blobs/<sha256>}
//       the base and every other candidate, as the hub cache stores them (snapshot files are
//       symbolic links to content-addressed blobs)
//   <out>/mirror/demo/<name>/...
//       the rest, as a plain mirror folder; three fine-tunes stay delta checkpoints
//   <out>/downloads.csv  the downloads of every third model (the others are in their cards)
//
// Fine-tunes are rebuilt to config.json + model.safetensors from their delta checkpoints. Every
// model gets a model card (README.md with YAML front matter): the base names no base model;
// fine-tunes name "demo/demo-base", half with base_model_relation and half without (inferred);
// adapters keep adapter_config.json, whose base_model_name_or_path is the repo id for some and a
// relative path to the base's folder for others, and half of their cards name the base too.
// Identities are "demo/<name in tree.json>".
#ifndef GEM_TESTS_SCAN_HF_DEMO_TREE_H_
#define GEM_TESTS_SCAN_HF_DEMO_TREE_H_

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gem/delta_checkpoint.h"
#include "gem/digest.h"

namespace gem::testing {

struct HfDemoTree {
  std::string hub, mirror, downloads_csv;
  nlohmann::json shipped;                   // data/demo_tree/tree.json
  std::map<std::string, std::string> dirs;  // id -> the folder the model's files are in
};

inline std::string DemoTreeDir() { return std::string(GEM_SOURCE_DIR) + "/data/demo_tree"; }

namespace hf_detail {

namespace fs = std::filesystem;

inline std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void Spit(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// Moves every file of `staged` into a hub cache entry for `repo` ("ORG/NAME"); returns the
// snapshot directory.
inline std::string PutInHub(const fs::path& hub, const std::string& repo, const fs::path& staged) {
  std::string flat = repo;
  flat.replace(flat.find('/'), 1, "--");
  const fs::path entry = hub / ("models--" + flat);
  const std::string commit = Sha256(repo).Hex().substr(0, 40);
  const fs::path snap = entry / "snapshots" / commit;
  fs::create_directories(snap);
  fs::create_directories(entry / "blobs");
  Spit(entry / "refs" / "main", commit);
  for (const auto& f : fs::directory_iterator(staged)) {
    const std::string content = Slurp(f.path());
    const std::string blob = Sha256(content).Hex();
    Spit(entry / "blobs" / blob, content);
    fs::create_symlink(fs::path("../../blobs") / blob, snap / f.path().filename());
  }
  fs::remove_all(staged);
  return snap.string();
}

inline std::string YamlList(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s + "]";
}

}  // namespace hf_detail

// Builds the store under `out` (which must exist). Fails the calling test on error.
inline HfDemoTree BuildHfDemoTree(const std::string& out) {
  namespace fs = std::filesystem;
  using namespace hf_detail;
  HfDemoTree t;
  t.hub = out + "/hub";
  t.mirror = out + "/mirror";
  t.downloads_csv = out + "/downloads.csv";
  {
    std::ifstream in(DemoTreeDir() + "/tree.json");
    t.shipped = nlohmann::json::parse(in);
  }
  std::string csv = "model,downloads\n";
  const fs::path staging = fs::path(out) / "staging";
  fs::create_directories(staging);

  // The base, in the hub cache.
  const auto& b = t.shipped["base"];
  const std::string base_id = "demo/" + b["name"].get<std::string>();
  fs::copy(DemoTreeDir() + "/" + b["path"].get<std::string>(), staging / "base");
  Spit(staging / "base" / "README.md",
       "---\nlicense: mit\ntags: " + YamlList(b["tags"].get<std::vector<std::string>>()) +
           "\ndownloads: " + std::to_string(b["downloads"].get<int64_t>()) +
           "\n---\n# demo-base\n\nA tiny Llama.\n");
  t.dirs[base_id] = PutInHub(t.hub, base_id, staging / "base");

  const auto& cands = t.shipped["candidates"];
  for (size_t i = 0; i < cands.size(); ++i) {
    const auto& c = cands[i];
    const std::string name = c["name"].get<std::string>();
    const std::string id = "demo/" + name;
    const bool adapter = c["kind"] == "adapter";
    const fs::path src = DemoTreeDir() + "/" + c["path"].get<std::string>();
    const fs::path stage = staging / name;
    const bool in_hub = i % 2 == 0;
    const bool keep_delta = !adapter && (i == 3 || i == 7 || i == 11);  // mirror ones (odd i)
    std::string card = "---\n";
    if (adapter) {
      fs::create_directories(stage);
      fs::copy(src / "adapter_model.safetensors", stage / "adapter_model.safetensors");
      nlohmann::json ac = nlohmann::json::parse(Slurp(src / "adapter_config.json"));
      // The repo id for a third, a path relative to the adapter's own folder for the rest.
      if (i % 3 == 0) {
        ac["base_model_name_or_path"] = base_id;
      } else {
        const fs::path where = in_hub ? fs::path(t.hub) / ("models--demo--" + name) / "snapshots" /
                                            Sha256(id).Hex().substr(0, 40)
                                      : fs::path(t.mirror) / "demo" / name;
        ac["base_model_name_or_path"] =
            fs::path(t.dirs[base_id]).lexically_relative(where).string();
      }
      Spit(stage / "adapter_config.json", ac.dump(2));
      if (i % 2 == 1) card += "base_model: " + base_id + "\nbase_model_relation: adapter\n";
    } else if (keep_delta) {
      fs::copy(src, stage);
      card += "base_model: " + base_id + "\nbase_model_relation: finetune\n";
    } else {
      auto d = RebuildDeltaCheckpoint(DemoTreeDir() + "/base", src.string(), stage.string());
      if (!d.ok()) throw std::runtime_error(d.status().ToString());
      card += "base_model:\n- " + base_id + "\n";
      if (i % 4 == 0) card += "base_model_relation: finetune\n";
    }
    card += "tags: " + YamlList(c["tags"].get<std::vector<std::string>>()) + "\n";
    const int64_t downloads = c["downloads"].get<int64_t>();
    if (i % 3 == 0) {
      csv += id + "," + std::to_string(downloads) + "\n";
    } else {
      card += "downloads: " + std::to_string(downloads) + "\n";
    }
    card += "---\n# " + name + "\n";
    Spit(stage / "README.md", card);
    if (in_hub) {
      t.dirs[id] = PutInHub(t.hub, id, stage);
    } else {
      const fs::path dst = fs::path(t.mirror) / "demo" / name;
      fs::create_directories(dst.parent_path());
      fs::rename(stage, dst);
      t.dirs[id] = dst.string();
    }
  }
  fs::remove_all(staging);
  Spit(t.downloads_csv, csv);
  return t;
}

}  // namespace gem::testing

#endif  // GEM_TESTS_SCAN_HF_DEMO_TREE_H_
