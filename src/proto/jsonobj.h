/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Top-level members of a JSON object's text, found without re-serialising
 * it, so a QMP proxy can swap one member ("id") and pass every other byte
 * through unchanged.  The text has normally been validated by json-c
 * first, but the scanner never trusts that: it stays inside [s, s + len)
 * and reports -EBADMSG on anything that is not an object.
 */
#ifndef QVMI_PROTO_JSONOBJ_H
#define QVMI_PROTO_JSONOBJ_H

#include <stddef.h>

#include "core/base.h"

struct qvmi_jsonobj_member {
	size_t start, end; /* '"key": value', [start, end) */
	size_t vstart; /* the value: [vstart, end) */
};

struct qvmi_jsonobj_iter {
	const char *s;
	size_t len, pos;
	int state; /* 0: before '{', 1: in the object, 2: done */
};

QVMI_HIDDEN void qvmi__jsonobj_iter_init(struct qvmi_jsonobj_iter *it,
					 const char *s, size_t len);
/* 1 and *ret: next member; 0: end of the object; -EBADMSG. */
QVMI_HIDDEN int qvmi__jsonobj_next(struct qvmi_jsonobj_iter *it,
				   struct qvmi_jsonobj_member *ret);
/* Is the member's key (escapes decoded) equal to key? */
QVMI_HIDDEN bool qvmi__jsonobj_key_is(const char *s,
				      const struct qvmi_jsonobj_member *m,
				      const char *key);

/* The last top-level member named key: 1 and *ret, 0 absent, -EBADMSG. */
QVMI_HIDDEN int qvmi__jsonobj_get(const char *s, size_t len, const char *key,
				  struct qvmi_jsonobj_member *ret);
/*
 * New object text: s with every top-level member named key dropped, then,
 * if val is non-NULL, '"key": val' where the last one stood (or appended).
 * Members are joined with ", " as QEMU writes them.  *ret is malloc'd and
 * NUL-terminated.  0, -EBADMSG or -ENOMEM.
 */
QVMI_HIDDEN int qvmi__jsonobj_set(const char *s, size_t len, const char *key,
				  const char *val, size_t vlen, char **ret,
				  size_t *ret_len);

#endif
