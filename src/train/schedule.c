/* schedule.c — learning-rate schedules evaluated per step t in [0, total):
 * constant lr, or cosine annealing to 0 without restarts (Loshchilov &
 * Hutter 2017): lr · (1 + cos(π t / total)) / 2. */
#include <math.h>

#include "../internal.h"

double dcx_schedule_lr(dcx_schedule s, double lr, int64_t t, int64_t total)
{
    if (s != DCX_SCHED_COSINE || total <= 0) return lr;
    return lr * 0.5 * (1.0 + cos(M_PI * (double)t / (double)total));
}
