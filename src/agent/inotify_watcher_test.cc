#include "agent/inotify_watcher.h"

#include <gtest/gtest.h>
