#include "agent/batcher.h"

#include <gtest/gtest.h>
