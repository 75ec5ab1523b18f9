// vlmrt — the whole public API in one include.
#pragma once

#include "vlmrt/detection.hpp"
#include "vlmrt/errors.hpp"
#include "vlmrt/generation.hpp"
#include "vlmrt/image.hpp"
#include "vlmrt/model.hpp"
