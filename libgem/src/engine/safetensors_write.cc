// Copyright the gem authors. Writing .safetensors files.
//
// The inverse of safetensors.cc's reader, kept deliberately plain: an 8-byte header length, the
// JSON header (tensors in the caller's order, contiguous data offsets), space padding to 8
// bytes, then the tensors' bytes in that order. Streaming through a callback keeps a rebuilt
// 8B fine-tune from needing 16 GB of memory.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "gem/safetensors.h"

namespace gem {

namespace fs = std::filesystem;

uint64_t TensorSpec::nbytes() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n * DTypeSize(dtype);
}

Status WriteSafetensors(const std::string& path, const std::vector<TensorSpec>& specs,
                        const TensorBytesFn& bytes_of,
                        const std::map<std::string, std::string>& metadata) {
  // nlohmann's ordered_json keeps the tensors in the order given (the reader does not care, but
  // a stable order makes the file reproducible).
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const TensorSpec& t : specs) {
    if (t.name == "__metadata__" || !seen.insert(t.name).second) {
      return Status::InvalidArgument(path, "tensor name '" + t.name + "' is used twice");
    }
    const uint64_t n = t.nbytes();
    header[t.name] = {
        {"dtype", DTypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  const std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IOError(tmp, "cannot create");
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(uint64_t{text.size()} >> (8 * i));
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  std::vector<uint8_t> bytes;
  std::error_code ec;
  for (size_t i = 0; i < specs.size(); ++i) {
    bytes.clear();
    Status s = bytes_of(i, &bytes);
    if (s.ok() && bytes.size() != specs[i].nbytes()) {
      s = Status::InvalidArgument(path, "tensor '" + specs[i].name + "' got " +
                                            std::to_string(bytes.size()) + " bytes, expected " +
                                            std::to_string(specs[i].nbytes()));
    }
    if (!s.ok()) {
      out.close();
      fs::remove(tmp, ec);
      return s;
    }
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  out.close();
  if (!out) {
    fs::remove(tmp, ec);
    return Status::IOError(tmp, "write failed (disk full?)");
  }
  fs::rename(tmp, path, ec);
  if (ec) return Status::IOError(path, "cannot rename into place: " + ec.message());
  return Status::OK();
}

}  // namespace gem
