/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The QMP proxy's reader of client input: QEMU 7.2's own JSON reader
 * (qobject/json-lexer.c, json-streamer.c, json-parser.c), modelled byte
 * for byte, so that the proxy splits a client's stream into messages where
 * QEMU would, accepts exactly what QEMU accepts, and answers the rest with
 * QEMU's own error text.  Only what passes goes to QEMU, so QEMU never
 * sees a message it cannot parse (its answer to one carries no id).
 *
 * What QEMU accepts beyond RFC 8259 is accepted here too (single-quoted
 * strings, "\'", modified UTF-8's "\xC0\x80" and "\u0000"), and what it
 * rejects inside RFC 8259 is rejected (duplicate keys, Unicode
 * noncharacters, nesting past 1024).  Checked against a live QEMU 7.2
 * (tests/unit/data/qemu72-json-errors.txt).
 */
#ifndef QVMID_PROXY_JSON_H
#define QVMID_PROXY_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

struct pj_token {
	uint8_t type;
	size_t start, end; /* in the reader's buffer */
};

struct proxy_json {
	char *buf;
	size_t len, cap, pos; /* bytes [0, len); lexed up to pos */
	size_t tok_start; /* where the lexer's current token began */
	uint8_t state;
	struct pj_token *toks; /* the message being gathered */
	size_t ntok, tokcap;
	int braces, brackets;
	size_t max_msg;
	uint64_t dropped; /* bytes compacted away: buf[0] is byte dropped */
	int err; /* sticky: -EMSGSIZE, -ENOMEM */
};

enum pj_kind {
	PJ_VALUE = 1, /* msg->obj (any JSON type; NULL for null) */
	PJ_ERROR, /* msg->error: QEMU's desc text, unquoted */
};

struct pj_msg {
	enum pj_kind kind;
	struct json_object *obj;
	char *error;
	/* PJ_VALUE and an object: the text to send on, with a slot for a
	 * new "id" value at tmpl[slot] (the client's own id taken out). */
	char *tmpl;
	size_t tmpl_len, slot;
	/* The client's "id" as QEMU 7.2 writes it back (qobject_to_json),
	 * or NULL if the request has none. */
	char *id;
	uint64_t end; /* stream offset just past the message's last byte */
};

int pj_init(struct proxy_json *pj, size_t max_msg);
void pj_deinit(struct proxy_json *pj);
/* Append bytes; -EMSGSIZE once more than max_msg bytes of one message
 * (and what follows it) are pending. */
int pj_feed(struct proxy_json *pj, const void *data, size_t len);
/* Next message or error: 1 (*ret filled, free with pj_msg_free), 0: more
 * bytes needed, < 0: a sticky -EMSGSIZE or -ENOMEM. */
int pj_next(struct proxy_json *pj, struct pj_msg *ret);
void pj_msg_free(struct pj_msg *m);
/* Stream offset of the next byte fed (bytes fed so far). */
uint64_t pj_fed(const struct proxy_json *pj);
/* True if part of a message has been received. */
bool pj_partial(const struct proxy_json *pj);

/* s as a JSON string the way QEMU 7.2 writes one (json-writer.c
 * quoted_str): ASCII as is, the rest as \uXXXX, bytes that are not
 * modified UTF-8 as \uFFFD, up to the first NUL.  Malloc'd; NULL: ENOMEM. */
char *pj_quote(const char *s, size_t len);
/* Is s (len bytes) well-formed UTF-8 with no NUL, surrogate or
 * noncharacter?  (What a path may be before it shows up in a reply.) */
bool pj_utf8_ok(const char *s, size_t len);

#endif
