#include "cli/usage.h"

#include <algorithm>
#include <limits>

namespace hx::cli {
namespace {

std::vector<const CLI::App*> Children(const CLI::App& app) {
  std::vector<const CLI::App*> out;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (!sub->get_name().empty()) out.push_back(sub);
  }
  return out;
}

std::string FullName(const CLI::App& app) {
  std::string name = app.get_name();
  for (const CLI::App* p = app.get_parent(); p != nullptr; p = p->get_parent()) {
    name = p->get_name() + " " + name;
  }
  return name;
}

void Walk(const CLI::App& app, std::vector<const CLI::App*>& out) {
  out.push_back(&app);
  for (const CLI::App* sub : Children(app)) Walk(*sub, out);
}

}  // namespace

std::vector<const CLI::App*> SubcommandsOf(const CLI::App& app) { return Children(app); }

std::string FullCommandName(const CLI::App& app) { return FullName(app); }

std::size_t EditDistance(std::string_view a, std::string_view b) {
  // d[i][j]: the distance between a[0, i) and b[0, j).
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

const CLI::App& SelectedCommand(const CLI::App& root) {
  const CLI::App* at = &root;
  for (;;) {
    const std::vector<CLI::App*> chosen = at->get_subcommands();
    if (chosen.empty()) return *at;
    at = chosen.front();
  }
}

std::optional<std::string> SuggestCommand(const CLI::App& root, const CLI::App& level,
                                          std::string_view word) {
  // A typo is at most a third of the word (and at least one edit).
  const std::size_t limit = std::max<std::size_t>(1, word.size() / 3);
  std::vector<const CLI::App*> all;
  Walk(root, all);
  const CLI::App* best = nullptr;
  std::size_t best_score = std::numeric_limits<std::size_t>::max();
  for (const CLI::App* app : all) {
    if (app == &root) continue;
    const std::size_t distance = EditDistance(word, app->get_name());
    if (distance > limit) continue;
    const std::size_t score = distance + (app->get_parent() == &level ? 0 : 1);
    // Ties: the first in the tree's order (the level's own come first).
    if (score < best_score ||
        (score == best_score && best->get_parent() != &level && app->get_parent() == &level)) {
      best = app;
      best_score = score;
    }
  }
  if (best == nullptr) return std::nullopt;
  return FullName(*best);
}

std::vector<std::string> AllCommands(const CLI::App& root) {
  std::vector<const CLI::App*> all;
  Walk(root, all);
  std::vector<std::string> out;
  out.reserve(all.size());
  for (const CLI::App* app : all) out.push_back(FullName(*app));
  return out;
}

const CLI::App* FindCommand(const CLI::App& root, const std::vector<std::string>& words) {
  const CLI::App* at = &root;
  for (const std::string& word : words) {
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : Children(*at)) {
      if (sub->get_name() == word) next = sub;
    }
    if (next == nullptr) return nullptr;
    at = next;
  }
  return at;
}

}  // namespace hx::cli
