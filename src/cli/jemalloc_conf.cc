// jemalloc's compiled-in options for the hx binary (linked only when hx is
// built with jemalloc; MALLOC_CONF in the environment still overrides).
//
// hx is a short-lived command whose peak is what a user sees: with
// jemalloc's default 10 s decay, pages freed between phases (the scan, the
// remote state, the plan) stay resident until the process ends, so the
// peaks of consecutive phases add up. A 100 ms decay returns them between
// phases: at 100,000 files the first pull peaks at 145-151 MB instead of
// 173-180 MB and the pull after a 1% change at 162 MB instead of 177 MB, at
// the default's CPU. A decay of 0 (purge on every free) saves 5-10 MB more
// but costs the first push ~0.8 s of system time in madvise calls
// (docs/BENCHMARKS.md, "Allocator decay (session 4)").
//
// Two arenas instead of jemalloc's four per core: each thread allocates from
// its arena, and an arena keeps the pages its threads freed (and its partly
// used runs) for itself, so a push whose scan, sealing, upload and index
// threads spread over eight arenas held ~17 MB more resident than the same
// data in two (first push of 100,000 files: 112-114 MB against 96-97 MB
// peak RSS, the same CPU; one arena was no smaller; docs/BENCHMARKS.md,
// "Arenas (session 10)"). Thread caches still serve most allocations
// without taking an arena's lock.

extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's interface.
extern const char* malloc_conf;
const char* malloc_conf = "dirty_decay_ms:100,muzzy_decay_ms:0,narenas:2";
}
