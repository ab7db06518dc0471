// What hx says when the command line names no command or a wrong one: the
// help of the level reached, or "unknown command 'log'" with the closest
// existing command ("did you mean 'hx sync log'?").
//
// Thread-safety: pure functions over a built CLI11 app.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace hx::cli {

// The optimal string alignment distance (Levenshtein with adjacent
// transpositions: "stauts" is 1 from "status").
std::size_t EditDistance(std::string_view a, std::string_view b);

// The deepest command the parser selected ("hx sync" for `hx sync stauts`);
// `root` when none.
const CLI::App& SelectedCommand(const CLI::App& root);

// The full command ("hx sync status") that `word`, typed where `level`
// expects a subcommand, most likely meant: a subcommand of `level` a typo
// away, or a command of that name (or a typo away) elsewhere in the tree,
// which costs one more. Nothing when no command is close.
std::optional<std::string> SuggestCommand(const CLI::App& root, const CLI::App& level,
                                          std::string_view word);

// The named subcommands of `app` (CLI11's option groups have no name).
std::vector<const CLI::App*> SubcommandsOf(const CLI::App& app);

// "hx sync push" for the push command.
std::string FullCommandName(const CLI::App& app);

// Every command of the tree, as typed ("hx", "hx sync", "hx sync push", ...).
std::vector<std::string> AllCommands(const CLI::App& root);

// The command `words` names, starting below `root` ({"sync", "push"}); null
// if one of them is not a subcommand of the one before.
const CLI::App* FindCommand(const CLI::App& root, const std::vector<std::string>& words);

}  // namespace hx::cli
