// hx.1: the man page, generated from a CommandSpec (cli/command_spec.h).
//
// The command sections come from the command definitions; ENVIRONMENT,
// EXIT STATUS and FILES describe what the definitions cannot say (variables
// read by the engine, the exit code contract of docs/ERRORS.md, the files the
// package installs).
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command_spec.h"

namespace hx::cli {
namespace {

// Text for a roff text line: backslash as \e, '-' as \- (a minus, so that
// options copy and search as typed), other than ASCII as \[uXXXX], and a
// leading '.' or '\'' kept from reading as a request.
std::string Roff(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      if (byte == '\\') {
        out += "\\e";
      } else if (byte == '-') {
        out += "\\-";
      } else if ((byte == '.' || byte == '\'') && i == 0) {
        out += "\\&";
        out += static_cast<char>(byte);
      } else {
        out += static_cast<char>(byte);
      }
      continue;
    }
    // A UTF-8 sequence (the CLI's descriptions are valid UTF-8); anything
    // undecodable is shown as U+FFFD.
    int length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 0;
    uint32_t code = length == 4 ? byte & 0x07u : length == 3 ? byte & 0x0Fu : byte & 0x1Fu;
    bool valid = length > 0 && i + static_cast<size_t>(length) <= text.size();
    for (int k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + static_cast<size_t>(k)]);
      valid = (next & 0xC0) == 0x80;
      code = (code << 6) | (next & 0x3Fu);
    }
    if (!valid) {
      code = 0xFFFD;
      length = 1;
    }
    char escape[16];
    std::snprintf(escape, sizeof escape, "\\[u%04X]", static_cast<unsigned>(code));
    out += escape;
    i += static_cast<size_t>(length) - 1;
  }
  return out;
}

std::string Bold(std::string_view text) { return "\\fB" + Roff(text) + "\\fR"; }
std::string Italic(std::string_view text) { return "\\fI" + Roff(text) + "\\fR"; }

// "\fB\-q\fR, \fB\-\-quiet\fR" and the value: " \fIauto\fR|\fIjson\fR" or " \fITEXT\fR".
// A choice list short enough for the tag line ("auto|json|none") is shown
// there. A longer one cannot be broken by troff and would overflow the line:
// the tag then names the value (POLICY) and the description lists them.
bool ChoicesInTag(const OptionSpec& option) {
  constexpr size_t kMaxTagChoices = 30;
  size_t length = 0;
  for (const std::string& choice : option.choices) length += choice.size() + 1;
  return length <= kMaxTagChoices;
}

std::string OptionTerm(const OptionSpec& option) {
  std::string term;
  for (const std::string& name : option.short_names) {
    term += (term.empty() ? "" : ", ") + Bold("-" + name);
  }
  for (const std::string& name : option.long_names) {
    term += (term.empty() ? "" : ", ") + Bold("--" + name);
  }
  if (!option.takes_value) return term;
  if (option.kind == ValueKind::kChoice && ChoicesInTag(option)) {
    std::string choices;
    for (const std::string& choice : option.choices) {
      choices += (choices.empty() ? "" : "|") + Italic(choice);
    }
    return term + " " + choices;
  }
  return term + " " + Italic(option.kind == ValueKind::kFile ? "FILE" : option.value_name);
}

// The option's paragraph: its description, then the choices the tag left out.
std::string OptionText(const OptionSpec& option) {
  std::string text = CollapseWhitespace(option.description);
  if (option.kind == ValueKind::kChoice && !ChoicesInTag(option)) {
    std::string choices;
    for (const std::string& choice : option.choices) {
      choices += (choices.empty() ? "" : ", ") + choice;
    }
    text += " (" + option.value_name + ": one of " + choices + ")";
  }
  return Roff(text);
}

bool IsHelp(const OptionSpec& option) {
  return option.long_names.size() == 1 && option.long_names.front() == "help";
}

std::string Usage(const CommandSpec& command) {
  std::string usage = Bold("hx" + (command.path.empty() ? "" : " " + command.PathString()));
  bool has_options = false;
  for (const OptionSpec& option : command.options) {
    has_options = has_options || (!option.inherited && !IsHelp(option));
  }
  if (has_options) usage += " [" + Italic("OPTIONS") + "]";
  if (!command.subcommands.empty()) usage += " " + Italic("COMMAND");
  for (const PositionalSpec& positional : command.positionals) {
    std::string word = Italic(positional.name) + (positional.repeated ? "\\&..." : "");
    usage += " " + (positional.required ? word : "[" + word + "]");
  }
  return usage;
}

void AppendCommand(const CommandSpec& command, std::string& out) {
  out += ".SS \"" + Roff("hx " + command.PathString()) + "\"\n";
  out += Usage(command) + "\n";
  out += ".PP\n" + Roff(CollapseWhitespace(command.description)) + "\n";
  for (const PositionalSpec& positional : command.positionals) {
    out += ".TP\n" + Italic(positional.name) + "\n";
    out += Roff(CollapseWhitespace(positional.description)) + "\n";
  }
  for (const OptionSpec& option : command.options) {
    // Global options and --help are described once, under GLOBAL OPTIONS.
    if (option.inherited || IsHelp(option)) continue;
    out += ".TP\n" + OptionTerm(option) + "\n" + OptionText(option) + "\n";
  }
  if (!command.subcommands.empty()) {
    std::string names;
    for (const CommandSpec& sub : command.subcommands) {
      names += (names.empty() ? "" : ", ") + Bold(sub.name);
    }
    out += ".PP\nCommands: " + names + ".\n";
  }
  for (const CommandSpec& sub : command.subcommands) AppendCommand(sub, out);
}

struct Entry {
  const char* term;
  const char* text;
};

constexpr Entry kEnvironment[] = {
    {"HX_PASSPHRASE",
     "The vault's passphrase, when no --passphrase-file is given (a terminal is asked otherwise)."},
    {"HX_LOG", "The log level when --log-level is not given."},
    {"HX_S3_PRICES",
     "Overrides the prices of the cost report, e.g. put=0.005,get=0.0004,egress_gb=0.09."},
    {"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, AWS_REGION",
     "S3 credentials and region, as for the AWS CLI; otherwise ~/.aws/credentials and "
     "~/.aws/config (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE)."},
};

}  // namespace

std::string ManPage(const CommandSpec& root, std::string_view version) {
  std::string out;
  out += ".\\\" hx(1). Generated by `hx man` from hx's command definitions: do not edit.\n";
  out += ".TH HX 1 \"\" \"hx " + Roff(version) + "\" \"User Commands\"\n";
  std::string summary = CollapseWhitespace(root.description);
  if (summary.rfind("hx ", 0) == 0) summary = summary.substr(3);
  out += ".SH NAME\nhx \\- " + Roff(summary) + "\n";
  out += ".SH SYNOPSIS\n" + Bold("hx") + " [" + Italic("OPTIONS") + "] " + Italic("COMMAND") +
         " [" + Italic("ARGS") + "]\n";
  out += ".SH DESCRIPTION\n" + Roff(CollapseWhitespace(root.description)) + "\n";
  out += ".PP\nThe global options may be given before or after the command "
         "(\\fBhx \\-\\-json sync status\\fR \\fIvault\\fR or \\fBhx sync status\\fR \\fIvault\\fR "
         "\\fB\\-\\-json\\fR). \\fBhx\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR "
         "prints the same description as this page for one command.\n";
  out += ".SH GLOBAL OPTIONS\n";
  for (const OptionSpec& option : root.options) {
    out += ".TP\n" + OptionTerm(option) + "\n" + OptionText(option) + "\n";
  }
  out += ".SH COMMANDS\n";
  for (const CommandSpec& sub : root.subcommands) AppendCommand(sub, out);
  out += ".SH ENVIRONMENT\n";
  for (const Entry& entry : kEnvironment) {
    out += ".TP\n" + Bold(entry.term) + "\n" + Roff(entry.text) + "\n";
  }
  out += ".SH EXIT STATUS\n";
  out += Roff("0 on success. Otherwise the class of the error's KC_SYNC_* code: 1 internal, "
              "2 invalid input or usage, 3 target, 4 authentication or key, 5 network, 6 locked, "
              "7 conflict, 8 merge refused, 9 apply failed (a partial result), 10 state, 11 damage "
              "found by verify or repair and not fixed. With --json the error is a JSON document "
              "on stdout.") +
         "\n";
  out += ".SH FILES\n.TP\n" + Italic("/usr/lib/systemd/user/hx-watch@.service") + "\n" +
         Roff("The systemd user unit that runs ") + Bold("hx sync watch") +
         Roff(" for one vault; the instance name is the vault's path, escaped: ") +
         Bold("systemctl --user enable --now hx-watch@$(systemd-escape --path ~/vault).service") +
         Roff(". The vault's key must be cached first (one hx sync pull by hand).") + "\n";
  out += ".SH SEE ALSO\n" + Bold("systemctl") + "(1), " + Bold("systemd-escape") + "(1)\n";
  return out;
}

}  // namespace hx::cli
