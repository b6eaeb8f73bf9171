// Umbrella header for oneDNN 2.6 as seen from Swift.
#ifndef HOLOHISTO_CDNNL_SHIM_H
#define HOLOHISTO_CDNNL_SHIM_H

#include <dnnl.h>
#include <dnnl_debug.h>

// Swift's clang finds no <omp.h>; these two libgomp entry points are declared here.
void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);

#endif
