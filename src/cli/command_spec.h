// The command tree of hx as data, and the texts generated from it: the bash,
// zsh and fish completion scripts and the man page (hx.1).
//
// The one source of truth is the live CLI11 App that `hx` parses with:
// DescribeCommands walks it (subcommands, options, positionals, value
// choices such as --progress's {auto,json,none}), so a command or flag added
// in a cmd_*.cc appears in every completion script and in `man hx` without
// anything else to edit. The build runs `hx completion bash|zsh|fish` and
// `hx man` (cmd_completion.cc) and installs their output (cmake/packaging.cmake).
//
// Hidden commands and options (CLI11 group "") are left out, as from --help.
// The generators are pure functions of the spec: same commands, same bytes
// (the man page carries no date, so a rebuild does not change it).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace hx::cli {

// What a shell may offer for a value.
enum class ValueKind {
  kFile,    // a path (CLI11's FILE, DIR, PATH validators; positionals; *file*, *path* options)
  kText,    // free text or a number: nothing to offer
  kChoice,  // one of `choices` (CLI11's IsMember)
};

struct OptionSpec {
  std::vector<std::string> long_names;   // without the leading "--"
  std::vector<std::string> short_names;  // without the leading "-"
  std::string description;
  bool takes_value = false;  // false: a flag
  std::string value_name;    // CLI11's type name ("TEXT", "INT"), without validators
  ValueKind kind = ValueKind::kText;
  std::vector<std::string> choices;  // kind == kChoice
  // Declared by an ancestor (a global flag such as --json) and accepted here
  // because the commands in between fall through to it.
  bool inherited = false;
};

struct PositionalSpec {
  std::string name;
  std::string description;
  bool required = false;
  bool repeated = false;  // takes any number of values
  ValueKind kind = ValueKind::kFile;
  std::vector<std::string> choices;
};

struct CommandSpec {
  std::string name;   // "push"; "hx" for the root
  std::vector<std::string> path;  // from the root, without "hx": {"sync", "push"}
  std::string description;
  // Every option accepted at this level, own ones first, then inherited
  // ones (no name twice: an own -h,--help hides the root's).
  std::vector<OptionSpec> options;
  std::vector<PositionalSpec> positionals;
  std::vector<CommandSpec> subcommands;  // visible ones, in definition order

  // "sync push"; "" for the root.
  std::string PathString() const;
};

// `text` on one line: each run of spaces, tabs and newlines becomes one
// space, none at the ends (descriptions are wrapped in the source).
std::string CollapseWhitespace(std::string_view text);

// The type name of a value that is one of `choices` but is checked later,
// by the engine rather than by CLI11 (an unknown merge policy must end in
// KC_SYNC_MERGE_POLICY_UNSUPPORTED, not in a usage error):
// "POLICY:{none,keep_both}". --help shows it; DescribeCommands reads the
// choices back for the completion scripts.
std::string ChoicesTypeName(std::string_view name, const std::vector<std::string_view>& choices);

// The visible command tree of `app` (the root: its name becomes the program
// name). Pure: reads the definitions, never the parse results.
CommandSpec DescribeCommands(const CLI::App& app);

// Every command of the tree, depth first, the root first.
std::vector<const CommandSpec*> Flatten(const CommandSpec& root);

// Completion scripts: bash (a _hx function bound with `complete -F`), zsh
// (a #compdef file for $fpath), fish (`complete -c hx` lines). Each names
// `version` in its header comment.
std::string BashCompletion(const CommandSpec& root, std::string_view version);
std::string ZshCompletion(const CommandSpec& root, std::string_view version);
std::string FishCompletion(const CommandSpec& root, std::string_view version);

// The man page in roff (man(7) macros): NAME, SYNOPSIS, DESCRIPTION, GLOBAL
// OPTIONS, COMMANDS (each command with its usage, options and arguments),
// ENVIRONMENT, FILES, SEE ALSO. ASCII only (other characters as \[uXXXX]).
std::string ManPage(const CommandSpec& root, std::string_view version);

}  // namespace hx::cli
