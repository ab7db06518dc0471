# Sourced first by the bench scripts (from the repository's root): what their command lines, work
# dirs and reports share. The script's name (for messages) is its file name.
#   log MESSAGE...          to stderr
#   die MESSAGE...          "NAME: MESSAGE" to stderr, exit 1
#   usage_error MESSAGE...  the same, exit 2 (a bad command line)
#   print_help              the script's header comment (its usage: lines 2 to `set -euo`), exit 0
#   unknown_option OPTION   exit 2 naming OPTION
#   parse_tools ALLOWED...  $tools (comma-separated) into the array tool_list; exit 2 on one not ALLOWED
#   has_tool TOOL           whether TOOL is in $tools
#   bench_work_dir DEFAULT  sets $work to $HX_BENCH_DIR, else DEFAULT (an absolute path other than /)
#   claim_work_dir MARKER   refuses to go on if $work exists, is not empty and has no file MARKER
#                           (a directory the bench did not make); sets $marker to $work/MARKER
#   check_disk KIB INODES   logs what $work's file system has free; exit 1 if less than asked
#   machine_meta            the meta.tsv lines every report opens with: command ($command_line),
#                           date, host, kernel, and the file system of $work
#   tool_versions_meta      the meta.tsv lines version_<tool> of the tools in $tools (hx: $hx, its
#                           path and the commit of the tree, saying whether src/ has changes on it)
bench_name=${0##*/}

log() { printf '%s\n' "$*" >&2; }
die() { log "$bench_name: $*"; exit 1; }
usage_error() { log "$bench_name: $*"; exit 2; }
print_help() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0; }
unknown_option() { usage_error "unknown option $1 (see --help)"; }

parse_tools() {
  IFS=, read -r -a tool_list <<<"$tools"
  local t allowed="$*"
  for t in "${tool_list[@]}"; do
    [[ " $allowed " == *" $t "* ]] || usage_error "unknown tool $t (--tools takes some of ${allowed// /,})"
  done
}
has_tool() { [[ ",$tools," == *",$1,"* ]]; }

bench_work_dir() {
  work="${HX_BENCH_DIR:-$1}"
  [[ "$work" == /* && "$work" != "/" ]] || usage_error "HX_BENCH_DIR must be an absolute path other than /"
}

claim_work_dir() {
  marker="$work/$1"
  if [[ -e "$work" && ! -e "$marker" && -n "$(ls -A "$work" 2>/dev/null)" ]]; then
    die "$work exists, is not empty and is not this bench's work dir (no $marker); refusing to wipe it"
  fi
}

check_disk() {
  local need_kb=$1 need_inodes=$2 avail_kb avail_inodes
  read -r avail_kb avail_inodes < <(df --output=avail,iavail "$work" | tail -1)
  log "disk: $((avail_kb / 1024 / 1024)) GiB and $avail_inodes inodes free at $work; need about $((need_kb / 1024 / 1024)) GiB and $need_inodes inodes"
  [[ $avail_kb -ge $need_kb ]] || die "not enough free disk at $work (df: ${avail_kb} KiB, need ${need_kb} KiB)"
  [[ $avail_inodes == "-" || $avail_inodes -ge $need_inodes ]] || die "not enough free inodes at $work"
}

machine_meta() {
  printf 'command\t%s\n' "$command_line"
  printf 'date\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf 'host\t%s, %s cpus, %s, %s MiB RAM\n' "$(uname -n)" "$(nproc)" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
    "$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)"
  printf 'kernel\t%s\n' "$(uname -r)"
  printf 'filesystem\t%s\n' "$(df --output=fstype "$work" | tail -1) at $work"
}

tool_versions_meta() {
  local t
  for t in "${tool_list[@]}"; do
    case $t in
      hx) printf 'version_hx\t%s (%s, commit %s%s)\n' "$("$hx" version 2>/dev/null | head -1)" "${hx#"$PWD"/}" \
            "$(git rev-parse --short HEAD)" "$(git diff --quiet HEAD -- src 2>/dev/null || echo ', src has uncommitted changes')" ;;
      rsync|rclone) printf 'version_%s\t%s\n' "$t" "$("$t" --version | head -1)" ;;
      restic) printf 'version_restic\t%s\n' "$(restic version)" ;;
      unison) printf 'version_unison\t%s\n' "$(unison -version)" ;;
    esac
  done
}
