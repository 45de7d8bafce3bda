// Copyright the gem authors. gemctl tree scan: folders of checkpoints to a tree manifest. Runs
// locally (no gemd): the logic is gem::ScanTree (gem/tree_scan.h, docs/TREE_SCAN.md).
#ifndef GEMCTL_TREE_SCAN_H_
#define GEMCTL_TREE_SCAN_H_

#include <string>
#include <vector>

#include "commands.h"

namespace gemctl {

struct TreeScanArgs {
  std::vector<std::string> paths;  // folders to walk
  std::string base;                // --base: identity or folder of the tree's base
  std::string downloads;           // --downloads FILE.csv
  std::string out;                 // --out: manifest file ("" = stdout)
  std::string name;                // --name: the tree's name in the manifest
  bool no_digests = false;         // --no-digests
};

// Scans, writes the manifest (to --out, else stdout) and prints what was placed, left out and
// noted (on stdout with --out, else on stderr). Exit status 0 when a manifest was written (models
// may have been left out: they are listed), 10 + the status code when the scan failed.
int TreeScan(Globals& g, const TreeScanArgs& a);

}  // namespace gemctl

#endif  // GEMCTL_TREE_SCAN_H_
