/* deepcx/deepcx.h — umbrella header of libdeepcx. */
#ifndef DEEPCX_DEEPCX_H
#define DEEPCX_DEEPCX_H

#include "core.h"
#include "rng.h"
#include "matrix.h"
#include "io.h"
#include "dist.h"
#include "fit.h"
#include "powerlaw.h"
#include "metrics.h"
#include "dim.h"
#include "kmeans.h"
#include "complexity.h"
#include "patterns.h"
#include "nn.h"
#include "train.h"
#include "profile.h"
#include "track.h"

#endif
