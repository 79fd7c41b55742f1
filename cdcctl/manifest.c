/* placeholder: the manifest module's owner replaces this file. */
#include "manifest.h"
#include "util.h"
int manifest_load(const struct manifest_source *src, struct manifest **out, char *err, size_t errlen)
{ (void)src; *out = NULL; return cc_errf(err, errlen, CC_ERR, "manifest: not implemented yet"); }
void manifest_free(struct manifest *m) { (void)m; }
char *manifest_to_yaml(const struct manifest *m) { (void)m; return xstrdup(""); }
const struct service *manifest_service(const struct manifest *m, const char *name) { (void)m; (void)name; return NULL; }
