// Starting the writeback of a file's dirty pages without waiting for it
// (issue 15, item 2): a pull starts each staged file's writes right after
// it has written them, so the fdatasync that makes the file durable later
// finds them under way or done instead of starting them.
//
// An optional capability of an Env (os/env.h), not part of Env itself: an
// Env that has it (PosixEnv: sync_file_range(fd, 0, 0,
// SYNC_FILE_RANGE_WRITE) on Linux, nothing elsewhere; FaultInjectingEnv: a
// fault point like every call, then its target's) also derives from
// WritebackEnv, and StartWriteback(env, fd) asks it; through any other Env
// (a test's EnvWrapper) it does nothing. It is never a durability step, so
// doing nothing is always correct, only slower.
//
// Conventions as Env's: 0 or a positive errno value, EINTR retried inside.
//
// Thread-safety: as the Env's (every Env is thread-safe).
#pragma once

namespace hx {

class Env;

class WritebackEnv {
 public:
  virtual int StartWriteback(int fd) = 0;

 protected:
  ~WritebackEnv() = default;
};

// Through `env` if it has the capability; 0 otherwise.
int StartWriteback(Env& env, int fd);

}  // namespace hx
