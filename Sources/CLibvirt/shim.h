#ifndef HUGEPAGE_GUARD_CLIBVIRT_SHIM_H
#define HUGEPAGE_GUARD_CLIBVIRT_SHIM_H
#include <stddef.h>
/* Exposes the *_LAST sentinels, so a test can check the Swift mirrors of libvirt's
 * event enums cover every code of the installed libvirt. */
#define VIR_ENUM_SENTINELS 1
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/*
 * virConnectDomainEventRegisterAny takes every callback as the generic type and
 * libvirt casts it back by event id. The VIR_DOMAIN_EVENT_CALLBACK() cast macro does
 * not import into Swift, so each helper below takes the typed callback and does that
 * cast in C, where the compiler checks the signature.
 */

/* Registers a virConnectDomainEventCallback for VIR_DOMAIN_EVENT_ID_LIFECYCLE. */
static inline int hg_register_lifecycle(virConnectPtr conn, virConnectDomainEventCallback cb,
                                        void *opaque, virFreeCallback freecb) {
    return virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                            VIR_DOMAIN_EVENT_CALLBACK(cb), opaque, freecb);
}

/* Registers a device-alias callback for VIR_DOMAIN_EVENT_ID_DEVICE_ADDED or _REMOVED
 * (both have the signature of virConnectDomainEventDeviceAddedCallback). */
static inline int hg_register_device(virConnectPtr conn, int eventID,
                                     virConnectDomainEventDeviceAddedCallback cb,
                                     void *opaque, virFreeCallback freecb) {
    return virConnectDomainEventRegisterAny(conn, NULL, eventID,
                                            VIR_DOMAIN_EVENT_CALLBACK(cb), opaque, freecb);
}

/* Registers a virConnectDomainEventMemoryDeviceSizeChangeCallback for
 * VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE. */
static inline int hg_register_memory_size(virConnectPtr conn,
                                          virConnectDomainEventMemoryDeviceSizeChangeCallback cb,
                                          void *opaque, virFreeCallback freecb) {
    return virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE,
                                            VIR_DOMAIN_EVENT_CALLBACK(cb), opaque, freecb);
}

/* VIR_UUID_STRING_BUFLEN is a macro of an expression, which Swift does not import. */
static inline int hg_uuid_string_buflen(void) { return VIR_UUID_STRING_BUFLEN; }

#endif
