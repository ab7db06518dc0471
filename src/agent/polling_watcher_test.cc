#include "agent/polling_watcher.h"

#include <gtest/gtest.h>
