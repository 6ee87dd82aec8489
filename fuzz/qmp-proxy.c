// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The QMP proxy's client input path: bytes from a client are split into
 * JSON values (qvmi_json_stream, in pieces as recv() would cut them), and
 * each object's "id" is found and swapped by the raw-text member scanner
 * (src/proto/jsonobj.c).  The scanner is checked against json-c: whatever
 * json-c accepts as an object must be rewritten into an object json-c
 * accepts, with the new id and every other member kept.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/jsonobj.h"
#include "proto/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char newid[] = "\"qvmid-proxy-1\"";

static void check_rewrite(struct json_object *req, const char *raw, size_t len)
{
	struct qvmi_jsonobj_member m;
	struct json_object *o, *id;
	char *out = NULL;
	size_t olen;
	int have = qvmi_jsonobj_get(raw, len, "id", &m);

	if (have == 1 && (m.vstart >= m.end || m.end > len))
		abort();
	if (qvmi_jsonobj_set(raw, len, "id", newid, sizeof(newid) - 1, &out,
			     &olen))
		abort(); /* json-c took it as an object: so must we */
	o = json_tokener_parse(out);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "id", &id) ||
	    strcmp(json_object_get_string(id), "qvmid-proxy-1"))
		abort();
	/* Same members but "id" (json-c keeps the last of duplicates). */
	json_object_object_foreach(req, key, val)
	{
		struct json_object *v2;

		if (!strcmp(key, "id"))
			continue;
		/* Compared as text: json-c parses NaN, and NaN != NaN. */
		if (!json_object_object_get_ex(o, key, &v2) ||
		    strcmp(json_object_to_json_string(val) ?: "",
			   json_object_to_json_string(v2) ?: ""))
			abort();
	}
	json_object_put(o);
	free(out);
	if (qvmi_jsonobj_set(raw, len, "id", NULL, 0, &out, &olen))
		abort();
	o = json_tokener_parse(out);
	if (!o || json_object_object_get_ex(o, "id", NULL))
		abort();
	json_object_put(o);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qvmi_json_stream js;
	size_t off = 0, step = size ? (size_t)data[0] % 37 + 1 : 1;

	if (qvmi_json_stream_init(&js, 1 << 16))
		return 0;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		struct json_object *req;
		int r;

		if (qvmi_json_stream_feed(&js, data + off, n))
			break;
		off += n;
		while ((r = qvmi_json_stream_next(&js, &req)) == 1) {
			size_t len;
			const char *raw = qvmi_json_stream_raw(&js, &len);

			if (!raw)
				abort();
			if (json_object_is_type(req, json_type_object))
				check_rewrite(req, raw, len);
			json_object_put(req);
		}
		if (r < 0)
			break;
	}
	qvmi_json_stream_deinit(&js);
	return 0;
}
