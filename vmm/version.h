/* ftvmm's version: printed by `ftvmm version`, and logged, since a replay
 * must run the same device models as its recorder. */
#ifndef FTVMM_VERSION_H
#define FTVMM_VERSION_H

#define FTVMM_VERSION "0.2.0"

#endif
