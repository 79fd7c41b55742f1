/* placeholder: the bootstrap module's owner replaces this file. */
#include "bootstrap.h"
#include "util.h"
int bootstrap_up(const struct manifest *m, const struct endpoint_resolver *r,
                 const struct bootstrap_options *opt, char *err, size_t errlen)
{ (void)m; (void)r; (void)opt; (void)err; (void)errlen; return CC_OK; }
void bootstrap_status(const struct manifest *m, const struct endpoint_resolver *r,
                      const struct bootstrap_options *opt, struct status_table *t)
{ (void)m; (void)r; (void)opt; (void)t; }
