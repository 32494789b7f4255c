/* invariant.h -- checks of invariants that "cannot fail": they abort loudly instead of letting a
 * broken invariant turn into a future that hangs forever with no sign. */
#ifndef AIOULTRA_INVARIANT_H
#define AIOULTRA_INVARIANT_H
#include <stdio.h>
#include <stdlib.h>

#define AIO_INVARIANT(cond, what)                                                                  \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "aioultra: invariant broken at %s:%d: %s\n", __FILE__, __LINE__, what); \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
