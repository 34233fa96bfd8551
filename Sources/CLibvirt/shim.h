#ifndef HUGEPAGE_GUARD_CLIBVIRT_SHIM_H
#define HUGEPAGE_GUARD_CLIBVIRT_SHIM_H
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#endif
