/* Tunables shared by the kernel families. The host prepends its own
 * #defines; each family file repeats the defaults it needs so that it also
 * compiles on its own. */
#ifndef WG_SIZE
#define WG_SIZE 256      /* work-group size of the 1-D kernels and reductions */
#endif
