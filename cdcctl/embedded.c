#include "embedded.h"

#include <string.h>

const struct embedded_file *embedded_find(const char *name)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    for (const struct embedded_file *f = embedded_files; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}
