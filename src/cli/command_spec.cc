// DescribeCommands: the CLI11 App tree as a CommandSpec (cli/command_spec.h).
#include "cli/command_spec.h"

#include <algorithm>
#include <string>
#include <vector>


namespace hx::cli {
namespace {

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> pieces;
  std::string piece;
  for (char c : text) {
    if (c == separator) {
      pieces.push_back(piece);
      piece.clear();
    } else {
      piece += c;
    }
  }
  pieces.push_back(piece);
  return pieces;
}

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// What CLI11 knows of a value: its type name ("TEXT") followed by the
// description of each validator, ':'-separated ("TEXT:{auto,json,none}",
// "TEXT:FILE").
struct ValueInfo {
  std::string type_name;
  ValueKind kind = ValueKind::kText;
  std::vector<std::string> choices;
};

ValueInfo ReadValueInfo(const CLI::Option& option, bool path_by_default) {
  const std::vector<std::string> pieces = Split(option.get_type_name(), ':');
  ValueInfo info;
  info.type_name = pieces.front();
  bool path_like = false;
  for (size_t i = 1; i < pieces.size(); ++i) {
    const std::string& piece = pieces[i];
    if (piece.size() >= 2 && piece.front() == '{' && piece.back() == '}') {
      info.choices = Split(piece.substr(1, piece.size() - 2), ',');
    } else if (piece == "FILE" || piece == "DIR" || piece.rfind("PATH", 0) == 0) {
      path_like = true;
    }
  }
  if (!info.choices.empty()) {
    info.kind = ValueKind::kChoice;
  } else if (path_like) {
    info.kind = ValueKind::kFile;
  } else if (info.type_name == "TEXT") {
    // A text option whose name says it is a path (--log-file, --decisions is
    // not); positionals (vaults, targets, paths in the vault) are paths.
    bool named_path = path_by_default;
    for (const std::string& name : option.get_lnames()) {
      for (std::string_view word : {"file", "path", "dir", "output"}) {
        named_path = named_path || Contains(name, word);
      }
    }
    info.kind = named_path ? ValueKind::kFile : ValueKind::kText;
  }
  return info;
}

bool SharesAName(const OptionSpec& a, const OptionSpec& b) {
  for (const std::string& name : a.long_names) {
    if (std::count(b.long_names.begin(), b.long_names.end(), name) > 0) return true;
  }
  for (const std::string& name : a.short_names) {
    if (std::count(b.short_names.begin(), b.short_names.end(), name) > 0) return true;
  }
  return false;
}

CommandSpec Describe(const CLI::App& app, std::vector<std::string> path,
                     const std::vector<OptionSpec>& parent_options) {
  CommandSpec spec;
  spec.name = app.get_name();
  spec.path = path;
  spec.description = app.get_description();
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_group().empty()) continue;  // hidden
    if (option->get_positional()) {
      PositionalSpec positional;
      positional.name = option->get_name(true);
      positional.description = option->get_description();
      positional.required = option->get_required();
      positional.repeated = option->get_items_expected_max() > 1;
      ValueInfo info = ReadValueInfo(*option, /*path_by_default=*/true);
      positional.kind = info.kind;
      positional.choices = std::move(info.choices);
      spec.positionals.push_back(std::move(positional));
    }
    if (!option->nonpositional()) continue;
    OptionSpec opt;
    opt.long_names = option->get_lnames();
    opt.short_names = option->get_snames();
    opt.description = option->get_description();
    opt.takes_value = option->get_items_expected_max() > 0;
    if (opt.takes_value) {
      ValueInfo info = ReadValueInfo(*option, /*path_by_default=*/false);
      opt.value_name = info.type_name;
      opt.kind = info.kind;
      opt.choices = std::move(info.choices);
    }
    spec.options.push_back(std::move(opt));
  }
  // A command that falls through accepts its parent's options (CLI11 hands
  // an unknown option to the parent): the global flags, anywhere.
  if (app.get_fallthrough()) {
    const size_t own = spec.options.size();
    for (OptionSpec option : parent_options) {
      const bool hidden_by_own = std::any_of(
          spec.options.begin(), spec.options.begin() + static_cast<std::ptrdiff_t>(own),
          [&](const OptionSpec& mine) { return SharesAName(mine, option); });
      if (hidden_by_own) continue;
      option.inherited = true;
      spec.options.push_back(std::move(option));
    }
  }
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_group().empty() || sub->get_name().empty()) continue;  // hidden, option group
    std::vector<std::string> sub_path = path;
    sub_path.push_back(sub->get_name());
    spec.subcommands.push_back(Describe(*sub, std::move(sub_path), spec.options));
  }
  return spec;
}

void FlattenInto(const CommandSpec& spec, std::vector<const CommandSpec*>& out) {
  out.push_back(&spec);
  for (const CommandSpec& sub : spec.subcommands) FlattenInto(sub, out);
}

}  // namespace

std::string CommandSpec::PathString() const {
  std::string text;
  for (const std::string& part : path) text += (text.empty() ? "" : " ") + part;
  return text;
}

std::string CollapseWhitespace(std::string_view text) {
  std::string line;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\t' || c == ' ') {
      space = !line.empty();
      continue;
    }
    if (space) line += ' ';
    space = false;
    line += c;
  }
  return line;
}

std::string ChoicesTypeName(std::string_view name, const std::vector<std::string_view>& choices) {
  std::string out(name);
  out += ":{";
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) out += ',';
    out += choices[i];
  }
  out += '}';
  return out;
}

CommandSpec DescribeCommands(const CLI::App& app) { return Describe(app, {}, {}); }

std::vector<const CommandSpec*> Flatten(const CommandSpec& root) {
  std::vector<const CommandSpec*> out;
  FlattenInto(root, out);
  return out;
}

}  // namespace hx::cli
