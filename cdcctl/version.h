#ifndef CDCCTL_VERSION_H
#define CDCCTL_VERSION_H
#define CDCCTL_VERSION "0.1.0"
#endif
