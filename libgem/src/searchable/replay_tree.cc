// Copyright the gem authors. Replay trees: a per-model accuracy CSV simulated into 0/1 matrices,
// or a real 0/1 matrix, with digests derived from the file's bytes (internal.h).
#include <algorithm>

#include "searchable/internal.h"

namespace gem::searchable_internal {
namespace {

// A model of a replay tree: a name and, when the file has a popularity column, its popularity.
SearchableModel ReplayModel(const std::string& name, const std::vector<double>& popularity,
                            size_t row) {
  SearchableModel m;
  m.name = name;
  m.popularity = row < popularity.size() ? popularity[row] : 0.0;
  m.popularity_known = !popularity.empty();
  return m;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// One task per *_pct column, each simulated as the record says.
Status AccuracyTasks(const TreeRecord& record, const std::string& label,
                     std::vector<SearchableTask>* tasks, std::vector<SearchableModel>* models,
                     bool* has_popularity) {
  const std::string& text = record.source.content;
  auto header = HeaderFields(text, label);
  if (!header.ok()) return header.status();
  for (const std::string& col : *header) {
    if (!EndsWith(col, "_pct")) continue;
    TreeCsvOptions opt;
    opt.metric = col;
    opt.popularity_column = "diameter_pt";
    auto table = ParseTreeCsv(text, opt, label);
    if (!table.ok()) return table.status();
    SimulationOptions so;
    so.num_queries = record.num_queries;
    so.seed = record.sim_seed;
    so.agreement = record.agreement;
    auto pop = SimulatePopulation(*table, so);
    if (!pop.ok()) return pop.status().WithContext(label + ", column " + col);
    if (models->empty()) {
      *has_popularity = !table->popularity.empty();
      for (size_t i = 0; i < table->model_ids.size(); ++i) {
        models->push_back(ReplayModel(table->model_ids[i], table->popularity, i));
      }
    } else if (models->size() != table->model_ids.size()) {
      return Status::InvalidArgument(label, "columns disagree on the number of models");
    }
    SearchableTask task;
    task.column = col;
    task.name = TaskNameOfColumn(col);
    task.population = std::move(*pop);
    tasks->push_back(std::move(task));
  }
  if (tasks->empty()) {
    return Status::InvalidArgument(label, "no accuracy column (a header field ending in _pct)");
  }
  return Status::OK();
}

}  // namespace

Result<std::shared_ptr<SearchableTree>> TreeBuilder::Replay(const TreeRecord& record) {
  std::shared_ptr<SearchableTree> tree(new SearchableTree());
  tree->record_ = record;
  tree->kind_ = SearchableTree::Kind::kReplay;
  const std::string& text = record.source.content;
  const std::string label = record.source.file_name.empty() ? record.name : record.source.file_name;
  const Digest content = Sha256(text);
  bool has_popularity = false;
  if (record.format == "accuracy") {
    GEM_RETURN_IF_ERROR(
        AccuracyTasks(record, label, &tree->tasks_, &tree->models_, &has_popularity));
  } else if (record.format == "matrix") {
    auto pop = ParseMatrixCsv(text, label);
    if (!pop.ok()) return pop.status();
    SearchableTask task;
    task.name = record.source.task.empty() ? "matrix" : record.source.task;
    for (size_t i = 0; i < pop->model_ids.size(); ++i) {
      tree->models_.push_back(ReplayModel(pop->model_ids[i], pop->popularity, i));
    }
    has_popularity = !pop->popularity.empty();
    task.population = std::move(*pop);
    tree->tasks_.push_back(std::move(task));
  } else {
    return Status::InvalidArgument("format '" + record.format + "'",
                                   "must be accuracy, matrix or auto");
  }
  std::sort(tree->tasks_.begin(), tree->tasks_.end(),
            [](const SearchableTask& a, const SearchableTask& b) { return a.name < b.name; });
  const uint32_t models = tree->tasks_[0].population.size();
  if (models == 0) return Status::InvalidArgument(label, "no models");
  tree->models_.resize(models);
  for (uint32_t i = 0; i < models; ++i) {
    SearchableModel& m = tree->models_[i];
    if (m.name.empty()) m.name = std::to_string(i);
    m.digest = ReplayModelDigest(content, i);
  }
  tree->has_popularity_ = has_popularity;
  const std::string sim = Simulation(record);
  for (auto& task : tree->tasks_) {
    task.digest = ReplayTaskDigest(content, task.name, sim);
    const uint32_t q = task.population.matrix->num_queries();
    task.query_digests.reserve(q);
    for (uint32_t j = 0; j < q; ++j) {
      task.query_digests.push_back(ReplayQueryDigest(content, task.name, sim, j));
    }
  }
  tree->configs_ = {ReplayConfigDigest()};
  return tree;
}

}  // namespace gem::searchable_internal
