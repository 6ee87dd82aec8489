/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A libvirt domain's QMP through libvirt's own monitor connection
 * (virDomainQemuMonitorCommand, libvirt-qemu), with libvirt dlopen'ed on
 * first use: only a program that names a domain loads it.
 */
#ifndef QVMI_PROTO_LIBVIRT_H
#define QVMI_PROTO_LIBVIRT_H

#include "qmp.h"

struct qvmi_virt;

/*
 * Connect to uri (NULL: libvirt's default, $LIBVIRT_DEFAULT_URI or
 * qemu:///system for root) and find the running domain name.  Errors:
 * -ENOPKG libvirt is not installed, -ELIBACC a static program (it cannot
 * load libvirt), -ECONNREFUSED no connection, -ENOENT no such domain,
 * -EHOSTDOWN the domain is not running.
 */
QVMI_HIDDEN int qvmi__virt_open(struct qvmi_ctx *ctx, const char *uri,
				const char *name, struct qvmi_virt **ret);
QVMI_HIDDEN void qvmi__virt_close(struct qvmi_virt *v);
/* The domain's UUID as libvirt knows it ("xxxxxxxx-xxxx-..."). */
QVMI_HIDDEN const char *qvmi__virt_uuid(const struct qvmi_virt *v);
/* QMP over libvirt's monitor connection; v is taken (closed with *ret,
 * or now on error). */
QVMI_HIDDEN int qvmi__virt_qmp(struct qvmi_ctx *ctx, struct qvmi_virt *v,
			       int timeout_ms, struct qvmi_qmp **ret);

#endif
