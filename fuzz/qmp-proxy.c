// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The QMP proxy's client input path: bytes from a client are read by the
 * model of QEMU 7.2's JSON reader (daemon/proxy-json.c), in pieces as
 * recv() would cut them.  Oracles:
 * - the cut does not matter: whole and in pieces give the same messages
 *   (json-c's incremental tokener failed this: issue 17 §3);
 * - what goes to QEMU (the request with the proxy's id in its slot) reads
 *   back as one object with that id and every other member unchanged;
 * - what goes back to the client (the id as QEMU writes it, an error's
 *   text as QEMU quotes it) is strict JSON in valid UTF-8.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../daemon/proxy-json-write.c"
#include "../daemon/proxy-json.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char newid[] = "\"qvmid-proxy-1\"";

static void must_be_json(const char *s, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;

	if (!tok)
		return;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* s is NUL-terminated: with the NUL, a bare number ends too. */
	o = json_tokener_parse_ex(tok, s, (int)len + 1);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) < len || strlen(s) != len ||
	    !pj_utf8_ok(s, len))
		abort();
	json_object_put(o);
	json_tokener_free(tok);
}

/* The request as forwarded reads back as the same object, our id in. */
static void check_forward(const struct pj_msg *m)
{
	size_t idlen = sizeof(newid) - 1, len = m->tmpl_len + idlen;
	char *line = malloc(len);
	struct proxy_json pj;
	struct pj_msg back;
	struct json_object *id;

	if (!line)
		return;
	memcpy(line, m->tmpl, m->slot);
	memcpy(line + m->slot, newid, idlen);
	memcpy(line + m->slot + idlen, m->tmpl + m->slot,
	       m->tmpl_len - m->slot);
	pj_init(&pj, len + 1);
	if (pj_feed(&pj, line, len) || pj_feed(&pj, "\n", 1) ||
	    pj_next(&pj, &back) != 1 || back.kind != PJ_VALUE ||
	    !json_object_object_get_ex(back.obj, "id", &id) ||
	    strcmp(json_object_get_string(id), "qvmid-proxy-1"))
		abort();
	json_object_object_foreach(m->obj, key, val)
	{
		struct json_object *v2;

		if (!strcmp(key, "id"))
			continue;
		/* As text: NaN cannot occur, but doubles compare badly. */
		if (!json_object_object_get_ex(back.obj, key, &v2) ||
		    strcmp(json_object_to_json_string(val) ?: "",
			   json_object_to_json_string(v2) ?: ""))
			abort();
	}
	if (json_object_object_length(back.obj) !=
	    json_object_object_length(m->obj) + !m->id)
		abort();
	pj_msg_free(&back);
	if (pj_next(&pj, &back) != 0) /* nothing after it */
		abort();
	pj_deinit(&pj);
	free(line);
}

static void check_msg(const struct pj_msg *m)
{
	if (m->kind == PJ_ERROR) {
		char *q = pj_quote(m->error, strlen(m->error));

		if (q)
			must_be_json(q, strlen(q));
		free(q);
		return;
	}
	if (m->id)
		must_be_json(m->id, strlen(m->id));
	if (json_object_is_type(m->obj, json_type_object))
		check_forward(m);
}

/* Every message in data, fed step bytes at a time, as one string. */
static char *run(const uint8_t *data, size_t size, size_t step, bool check)
{
	struct proxy_json pj;
	struct sbuf out = { 0 };
	struct pj_msg m;
	int r = 0;

	pj_init(&pj, size + 1);
	for (size_t off = 0; off < size && r >= 0; off += step) {
		size_t n = size - off < step ? size - off : step;

		if (pj_feed(&pj, data + off, n))
			break;
		while ((r = pj_next(&pj, &m)) == 1) {
			if (check)
				check_msg(&m);
			pj__sb_str(&out, m.kind == PJ_ERROR ? "E:" : "V:");
			pj__sb_str(&out, m.kind == PJ_ERROR ? m.error :
					 m.tmpl		    ? m.tmpl :
							      "-");
			pj__sb_str(&out, m.id ? m.id : "-");
			pj__sb_add(&out, "\n", 1);
			pj_msg_free(&m);
		}
	}
	pj__sb_str(&out, pj.err ? "ERR" : "");
	pj_deinit(&pj);
	return pj__sb_take(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step = size ? (size_t)data[0] % 37 + 1 : 1;
	char *whole = run(data, size, size ? size : 1, true);
	char *cut = run(data, size, step, false);

	if (whole && cut && strcmp(whole, cut))
		abort();
	free(whole);
	free(cut);
	return 0;
}
