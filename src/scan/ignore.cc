#include "scan/ignore.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/os_error.h"
#include "hash/blake3.h"

namespace hx {
namespace {

// One byte-level element of a pattern segment.
struct Token {
  enum class Type : std::uint8_t { kLiteral, kAnyByte, kStar, kClass };
  Type type = Type::kLiteral;
  std::uint8_t byte = 0;               // kLiteral
  std::array<std::uint64_t, 4> set{};  // kClass: bit b set = byte b matches

  bool MatchesByte(std::uint8_t b) const {
    switch (type) {
      case Type::kLiteral:
        return b == byte;
      case Type::kAnyByte:
        return b != '/';
      case Type::kClass:
        return b != '/' && ((set[b >> 6] >> (b & 63)) & 1) != 0;
      case Type::kStar:
        return false;
    }
    return false;
  }
};

// One '/'-separated segment of a pattern.
struct Segment {
  bool globstar = false;  // the whole segment is "**"
  std::vector<Token> tokens;
  // Fast paths for the common shapes: the segment is this literal, or '*'
  // followed by this literal (e.g. "*.log").
  enum class Shape : std::uint8_t { kLiteral, kStarSuffix, kGeneral };
  Shape shape = Shape::kGeneral;
  std::string literal;
};

void AddByte(Token& token, std::uint8_t b) { token.set[b >> 6] |= std::uint64_t{1} << (b & 63); }

bool AddPosixClass(Token& token, std::string_view name) {
  // ASCII only: the "C" locale's classes, whatever the process locale says.
  auto add_if = [&token](auto test) {
    for (int b = 0; b < 128; ++b) {
      if (test(b)) {
        AddByte(token, static_cast<std::uint8_t>(b));
      }
    }
    return true;
  };
  const auto lower = [](int b) { return b >= 'a' && b <= 'z'; };
  const auto upper = [](int b) { return b >= 'A' && b <= 'Z'; };
  const auto digit = [](int b) { return b >= '0' && b <= '9'; };
  const auto graph = [](int b) { return b > ' ' && b < 127; };
  if (name == "alnum") return add_if([&](int b) { return lower(b) || upper(b) || digit(b); });
  if (name == "alpha") return add_if([&](int b) { return lower(b) || upper(b); });
  if (name == "blank") return add_if([](int b) { return b == ' ' || b == '\t'; });
  if (name == "cntrl") return add_if([](int b) { return b < ' ' || b == 127; });
  if (name == "digit") return add_if(digit);
  if (name == "graph") return add_if(graph);
  if (name == "lower") return add_if(lower);
  if (name == "print") return add_if([&](int b) { return graph(b) || b == ' '; });
  if (name == "punct") {
    return add_if([&](int b) { return graph(b) && !lower(b) && !upper(b) && !digit(b); });
  }
  if (name == "space") return add_if([](int b) { return b == ' ' || (b >= '\t' && b <= '\r'); });
  if (name == "upper") return add_if(upper);
  if (name == "xdigit") {
    return add_if(
        [&](int b) { return digit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F'); });
  }
  return false;
}

// Parses the bracket expression that starts at text[i] == '['. On success
// returns the class token and leaves i just past the closing ']'.
std::optional<Token> ParseClass(std::string_view text, std::size_t& i) {
  Token token;
  token.type = Token::Type::kClass;
  std::size_t pos = i + 1;
  bool negated = false;
  if (pos < text.size() && (text[pos] == '!' || text[pos] == '^')) {
    negated = true;
    ++pos;
  }
  bool first = true;
  while (true) {
    if (pos >= text.size()) {
      return std::nullopt;  // no closing ']'
    }
    char c = text[pos];
    if (c == ']' && !first) {
      ++pos;
      break;
    }
    first = false;
    if (c == '[' && pos + 1 < text.size() && text[pos + 1] == ':') {
      const std::size_t close = text.find(":]", pos + 2);
      if (close == std::string_view::npos) {
        return std::nullopt;
      }
      if (!AddPosixClass(token, text.substr(pos + 2, close - pos - 2))) {
        return std::nullopt;  // unknown class name: git refuses the pattern too
      }
      pos = close + 2;
      continue;
    }
    if (c == '\\') {
      if (++pos >= text.size()) {
        return std::nullopt;
      }
      c = text[pos];
    }
    std::uint8_t low = static_cast<std::uint8_t>(c);
    ++pos;
    // "a-z": a range, unless the '-' is last before ']'.
    if (pos + 1 < text.size() && text[pos] == '-' && text[pos + 1] != ']') {
      char high_char = text[pos + 1];
      pos += 2;
      if (high_char == '\\') {
        if (pos >= text.size()) {
          return std::nullopt;
        }
        high_char = text[pos++];
      }
      const std::uint8_t high = static_cast<std::uint8_t>(high_char);
      for (unsigned b = low; b <= high; ++b) {
        AddByte(token, static_cast<std::uint8_t>(b));
      }
      continue;
    }
    AddByte(token, low);
  }
  if (negated) {
    for (std::uint64_t& word : token.set) {
      word = ~word;
    }
  }
  i = pos;
  return token;
}

std::optional<Segment> CompileSegment(std::string_view text) {
  Segment segment;
  if (text.size() >= 2 && text.find_first_not_of('*') == std::string_view::npos) {
    segment.globstar = true;
    return segment;
  }
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    Token token;
    if (c == '\\') {
      if (i + 1 >= text.size()) {
        return std::nullopt;  // a trailing '\' escapes nothing
      }
      token.byte = static_cast<std::uint8_t>(text[i + 1]);
      i += 2;
    } else if (c == '?') {
      token.type = Token::Type::kAnyByte;
      ++i;
    } else if (c == '*') {
      token.type = Token::Type::kStar;
      while (i < text.size() && text[i] == '*') {
        ++i;
      }
    } else if (c == '[') {
      std::optional<Token> parsed = ParseClass(text, i);
      if (!parsed) {
        return std::nullopt;
      }
      token = *parsed;
    } else {
      token.byte = static_cast<std::uint8_t>(c);
      ++i;
    }
    segment.tokens.push_back(token);
  }
  // Shapes: all literals, or one leading star then literals.
  std::size_t literals_from = 0;
  if (!segment.tokens.empty() && segment.tokens[0].type == Token::Type::kStar) {
    literals_from = 1;
  }
  bool all_literal = true;
  std::string literal;
  for (std::size_t t = literals_from; t < segment.tokens.size(); ++t) {
    if (segment.tokens[t].type != Token::Type::kLiteral) {
      all_literal = false;
      break;
    }
    literal.push_back(static_cast<char>(segment.tokens[t].byte));
  }
  if (all_literal) {
    segment.shape = literals_from == 0 ? Segment::Shape::kLiteral : Segment::Shape::kStarSuffix;
    segment.literal = std::move(literal);
  }
  return segment;
}

// Glob match of one segment against one name (no '/'), byte by byte. The
// classic greedy scan: on a mismatch, let the most recent '*' absorb one
// more byte. Forgetting earlier stars is safe because a later star can
// absorb anything an earlier one could. O(len(text) * tokens) at worst.
bool GlobMatches(const Segment& segment, std::string_view text) {
  switch (segment.shape) {
    case Segment::Shape::kLiteral:
      return text == segment.literal;
    case Segment::Shape::kStarSuffix:
      return text.ends_with(segment.literal);
    case Segment::Shape::kGeneral:
      break;
  }
  const std::vector<Token>& tokens = segment.tokens;
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star_p = std::string_view::npos;
  std::size_t star_t = 0;
  while (t < text.size()) {
    const std::uint8_t b = static_cast<std::uint8_t>(text[t]);
    if (p < tokens.size() && tokens[p].type == Token::Type::kStar) {
      star_p = p++;
      star_t = t;
    } else if (p < tokens.size() && tokens[p].MatchesByte(b)) {
      ++p;
      ++t;
    } else if (star_p != std::string_view::npos) {
      p = star_p + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < tokens.size() && tokens[p].type == Token::Type::kStar) {
    ++p;
  }
  return p == tokens.size();
}

}  // namespace

struct IgnoreRules::Rule {
  std::size_t line = 0;  // 1-based line of the file (IgnoreRules::Explain)
  std::string text;      // the line as written
  bool negated = false;
  bool dir_only = false;
  bool anchored = false;  // matched against the whole path, else the name
  std::vector<Segment> segments;
};

namespace {

// The whole-path match of an anchored rule: the same greedy scan as
// GlobMatches, one level up, with "**" segments as the stars and path
// segments as the bytes.
bool AnchoredMatches(const std::vector<Segment>& segments, std::string_view path) {
  const std::size_t n = path.size();
  auto segment_end = [&](std::size_t from) {
    const std::size_t end = path.find('/', from);
    return end == std::string_view::npos ? n : end;
  };
  std::size_t p = 0;
  std::size_t pos = 0;  // start of the current path segment; n + 1 past the last
  std::size_t star_p = std::string_view::npos;
  std::size_t star_pos = 0;
  while (pos <= n) {
    const std::size_t end = segment_end(pos);
    if (p < segments.size() && segments[p].globstar) {
      star_p = p++;
      star_pos = pos;
    } else if (p < segments.size() && GlobMatches(segments[p], path.substr(pos, end - pos))) {
      ++p;
      pos = end + 1;
    } else if (star_p != std::string_view::npos) {
      p = star_p + 1;
      star_pos = segment_end(star_pos) + 1;
      pos = star_pos;
    } else {
      return false;
    }
  }
  while (p < segments.size() && segments[p].globstar) {
    ++p;
  }
  return p == segments.size();
}

}  // namespace

IgnoreRules::IgnoreRules() : source_digest_(Blake3Hash(std::string_view())) {}
IgnoreRules::~IgnoreRules() = default;
IgnoreRules::IgnoreRules(const IgnoreRules&) = default;
IgnoreRules& IgnoreRules::operator=(const IgnoreRules&) = default;
IgnoreRules::IgnoreRules(IgnoreRules&&) noexcept = default;
IgnoreRules& IgnoreRules::operator=(IgnoreRules&&) noexcept = default;

std::size_t IgnoreRules::size() const { return rules_.size(); }

bool IgnoreRules::ParseLine(std::string_view line, Rule& rule) {
  if (line.ends_with('\r')) {
    line.remove_suffix(1);
  }
  // Trailing spaces go, unless the last one is escaped ("foo\ ").
  while (line.ends_with(' ') && !(line.size() >= 2 && line[line.size() - 2] == '\\')) {
    line.remove_suffix(1);
  }
  if (line.empty() || line.front() == '#') {
    return false;
  }
  if (line.front() == '!') {
    rule.negated = true;
    line.remove_prefix(1);
  }
  if (line.ends_with('/')) {
    rule.dir_only = true;
    line.remove_suffix(1);
  }
  rule.anchored = line.find('/') != std::string_view::npos;
  if (line.starts_with('/')) {
    line.remove_prefix(1);
  }
  if (line.empty()) {
    return false;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = line.find('/', start);
    const std::string_view text = line.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (text.empty()) {
      return false;  // "a//b" can never match a path
    }
    std::optional<Segment> segment = CompileSegment(text);
    if (!segment) {
      return false;
    }
    rule.segments.push_back(std::move(*segment));
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  Segment star;
  star.tokens.push_back(Token{Token::Type::kStar});
  if (!rule.anchored) {
    // A name pattern is one segment; "**" there is just '*'.
    if (rule.segments.front().globstar) {
      rule.segments.front() = std::move(star);
    }
  } else if (rule.segments.back().globstar) {
    // A trailing "**" matches one level or more ("a/**" is not "a"
    // itself): "**" -> "*", "**".
    rule.segments.insert(rule.segments.end() - 1, std::move(star));
  }
  return true;
}

IgnoreRules IgnoreRules::Parse(std::string_view text) {
  IgnoreRules rules;
  rules.source_digest_ = Blake3Hash(text);
  std::size_t start = 0;
  std::size_t line = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    ++line;
    Rule rule;
    const std::string_view source = text.substr(start, end - start);
    if (ParseLine(source, rule)) {
      rule.line = line;
      rule.text = std::string(source.ends_with('\r') ? source.substr(0, source.size() - 1) : source);
      rules.rules_.push_back(std::move(rule));
    }
    start = end + 1;
  }
  return rules;
}

const IgnoreRules::Rule* IgnoreRules::Deciding(std::string_view path, bool is_dir) const {
  const std::size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  for (auto rule = rules_.rbegin(); rule != rules_.rend(); ++rule) {
    if (rule->dir_only && !is_dir) {
      continue;
    }
    const bool matched = rule->anchored ? AnchoredMatches(rule->segments, path)
                                        : GlobMatches(rule->segments.front(), name);
    if (matched) {
      return &*rule;
    }
  }
  return nullptr;
}

bool IgnoreRules::Matches(std::string_view path, bool is_dir) const {
  if (path == kStateDirName) {
    return true;
  }
  const Rule* rule = Deciding(path, is_dir);
  return rule != nullptr && !rule->negated;
}

std::optional<IgnoreRules::Match> IgnoreRules::Explain(std::string_view path, bool is_dir) const {
  const auto decide = [&](std::string_view at, bool dir) -> std::optional<Match> {
    if (at == kStateDirName) {
      return Match{std::string(at), 0, std::string(kStateDirName)};
    }
    const Rule* rule = Deciding(at, dir);
    if (rule == nullptr || rule->negated) {
      return std::nullopt;
    }
    return Match{std::string(at), rule->line, rule->text};
  };
  for (std::size_t slash = path.find('/'); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    if (auto match = decide(path.substr(0, slash), /*is_dir=*/true)) {
      return match;
    }
  }
  return decide(path, is_dir);
}

bool IgnoreRules::IsIgnored(std::string_view path, bool is_dir) const {
  for (std::size_t slash = path.find('/'); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    if (Matches(path.substr(0, slash), /*is_dir=*/true)) {
      return true;
    }
  }
  return Matches(path, is_dir);
}

Result<IgnoreRules> LoadIgnoreFile(const std::filesystem::path& root, int root_fd, Env& env) {
  const std::string file = (root / kIgnoreFileName).string();
  auto fail = [&file](Category category, std::string message, int error) {
    Error result(SyncCode::kStateFailed, category, std::move(message));
    result.With("path", file);
    if (error != 0) {
      result.With("errno", std::to_string(error)).With("error", std::strerror(error));
    }
    return result;
  };
  Fd owned_root;
  if (root_fd < 0) {
    int raw = -1;
    if (const int error = env.Open(AT_FDCWD, root.c_str(), O_RDONLY | O_DIRECTORY, 0, &raw);
        error != 0) {
      return fail(CategoryOfErrno(error), "cannot open the vault folder " + root.string(), error);
    }
    owned_root = Fd(env, raw);
    root_fd = raw;
  }
  // O_NONBLOCK: a FIFO named .hxignore must not hang the scan.
  int raw = -1;
  const int open_error = env.Open(root_fd, std::string(kIgnoreFileName).c_str(),
                                  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0, &raw);
  owned_root.reset();
  if (open_error != 0) {
    if (open_error == ENOENT) {
      return IgnoreRules();
    }
    if (open_error == ELOOP) {
      return fail(Category::kUnsupported,
                  file + " is a symlink; hx reads ignore rules only from a regular file", 0);
    }
    return fail(CategoryOfErrno(open_error), "cannot read " + file, open_error);
  }
  const Fd fd(env, raw);
  struct stat st {};
  if (const int error = env.Fstat(fd.get(), &st); error != 0) {
    return fail(CategoryOfErrno(error), "cannot read " + file, error);
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(Category::kUnsupported,
                file + " is not a regular file; hx reads ignore rules only from a regular file", 0);
  }
  std::string text;
  if (const int error = ReadAll(env, fd.get(), kMaxIgnoreFileBytes, &text); error != 0) {
    if (error == EFBIG) {
      return fail(Category::kInvalidInput,
                  file + " is larger than " + std::to_string(kMaxIgnoreFileBytes) + " bytes", 0);
    }
    return fail(CategoryOfErrno(error), "cannot read " + file, error);
  }
  return IgnoreRules::Parse(text);
}

}  // namespace hx
