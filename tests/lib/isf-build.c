// SPDX-License-Identifier: LGPL-2.1-or-later
/* An ISF JSON from BTF: see isf-build.h. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <json-c/json.h>

#include "isf-build.h"

static const char *btf_tname(const struct btf *b, uint32_t id, char *buf,
			     size_t n)
{
	const struct btf_type *t = btf__type_by_id(b, id);
	const char *s = t ? btf__name_by_offset(b, t->name_off) : NULL;

	if (s && *s)
		return s;
	snprintf(buf, n, "unnamed_%u", id); /* dwarf2json's anonymous types */
	return buf;
}

static struct json_object *btf_desc(const struct btf *b, uint32_t id)
{
	struct json_object *d = json_object_new_object();
	const struct btf_type *t;
	char nb[32];

	while ((t = btf__type_by_id(b, id)) &&
	       (btf_is_typedef(t) || btf_is_mod(t)))
		id = t->type;
	if (!id || !t) {
		json_object_object_add(d, "kind",
				       json_object_new_string("base"));
		json_object_object_add(d, "name",
				       json_object_new_string("void"));
	} else if (btf_is_ptr(t)) {
		json_object_object_add(d, "kind",
				       json_object_new_string("pointer"));
		json_object_object_add(d, "subtype", btf_desc(b, t->type));
	} else if (btf_is_func_proto(t) || btf_is_func(t)) {
		json_object_object_add(d, "kind",
				       json_object_new_string("function"));
	} else if (btf_is_array(t)) {
		json_object_object_add(d, "kind",
				       json_object_new_string("array"));
		json_object_object_add(
			d, "count",
			json_object_new_int64(btf_array(t)->nelems));
		json_object_object_add(d, "subtype",
				       btf_desc(b, btf_array(t)->type));
	} else {
		const char *k = btf_is_fwd(t) ?
					(btf_kflag(t) ? "union" : "struct") :
				btf_is_int(t) || btf_is_float(t) ? "base" :
				btf_is_union(t)			 ? "union" :
				btf_is_struct(t)		 ? "struct" :
								   "enum";

		json_object_object_add(d, "kind", json_object_new_string(k));
		json_object_object_add(d, "name",
				       json_object_new_string(btf_tname(
					       b, id, nb, sizeof(nb))));
	}
	return d;
}

static struct json_object *btf_fields(const struct btf *b,
				      const struct btf_type *t)
{
	struct json_object *fs = json_object_new_object();
	const struct btf_member *m = btf_members(t);

	for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
		struct json_object *f = json_object_new_object(), *d;
		uint32_t bits = btf_member_bit_offset(t, i);
		uint32_t bsz = btf_member_bitfield_size(t, i);
		const char *n = btf__name_by_offset(b, m->name_off);
		char nb[32];

		d = btf_desc(b, m->type);
		if (bsz) {
			struct json_object *bf = json_object_new_object();

			json_object_object_add(
				bf, "kind", json_object_new_string("bitfield"));
			json_object_object_add(bf, "bit_position",
					       json_object_new_int(bits % 8));
			json_object_object_add(bf, "bit_length",
					       json_object_new_int((int)bsz));
			json_object_object_add(bf, "type", d);
			d = bf;
		}
		json_object_object_add(f, "offset",
				       json_object_new_int64(bits / 8));
		json_object_object_add(f, "type", d);
		if (!n || !*n) {
			snprintf(nb, sizeof(nb), "unnamed_field_%x", bits / 8);
			n = nb;
		}
		json_object_object_add(fs, n, f);
	}
	return fs;
}

static struct json_object *base_type(int64_t size, bool sign)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "size", json_object_new_int64(size));
	json_object_object_add(o, "signed", json_object_new_boolean(sign));
	json_object_object_add(o, "kind", json_object_new_string("int"));
	json_object_object_add(o, "endian", json_object_new_string("little"));
	return o;
}

static void add_user(const struct btf *b, struct json_object *user,
		     struct json_object *enums, struct json_object *base)
{
	char nb[32];

	for (uint32_t id = 1; id < btf__type_cnt(b); id++) {
		const struct btf_type *t = btf__type_by_id(b, id);
		const char *n = btf_tname(b, id, nb, sizeof(nb));
		struct json_object *u;

		if (btf_is_int(t) || btf_is_float(t)) {
			json_object_object_add(
				base, n,
				base_type(t->size,
					  btf_is_float(t) ||
						  (btf_int_encoding(t) &
						   BTF_INT_SIGNED)));
		} else if (btf_is_enum(t) || btf_is_enum64(t)) {
			u = json_object_new_object();
			json_object_object_add(u, "size",
					       json_object_new_int64(t->size));
			json_object_object_add(u, "base",
					       json_object_new_string("int"));
			json_object_object_add(u, "constants",
					       json_object_new_object());
			json_object_object_add(enums, n, u);
		} else if ((btf_is_composite(t) || btf_is_fwd(t)) &&
			   !json_object_object_get_ex(user, n, NULL)) {
			bool un = btf_is_fwd(t) ? btf_kflag(t) :
						  btf_is_union(t);

			u = json_object_new_object();
			json_object_object_add(
				u, "kind",
				json_object_new_string(un ? "union" :
							    "struct"));
			json_object_object_add(
				u, "size",
				json_object_new_int64(btf_is_fwd(t) ? 0 :
								      t->size));
			json_object_object_add(
				u, "fields",
				btf_is_fwd(t) ? json_object_new_object() :
						btf_fields(b, t));
			json_object_object_add(user, n, u);
		}
	}
}

static char *finish(const struct btf *b, struct json_object *sy)
{
	struct json_object *root = json_object_new_object();
	struct json_object *base = json_object_new_object();
	struct json_object *user = json_object_new_object();
	struct json_object *enums = json_object_new_object();
	const char *s;
	char *out;

	json_object_object_add(base, "pointer",
			       base_type((int64_t)btf__pointer_size(b), false));
	json_object_object_add(base, "void", base_type(0, false));
	add_user(b, user, enums, base);
	json_object_object_add(root, "metadata", json_object_new_object());
	json_object_object_add(root, "base_types", base);
	json_object_object_add(root, "user_types", user);
	json_object_object_add(root, "enums", enums);
	json_object_object_add(root, "symbols", sy);
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	out = s ? strdup(s) : NULL;
	json_object_put(root);
	return out;
}

static void add_sym(struct json_object *sy, const char *name, uint64_t addr)
{
	struct json_object *s = json_object_new_object();

	json_object_object_add(s, "address", json_object_new_uint64(addr));
	json_object_object_add(sy, name, s);
}

char *isf_from_btf(const struct btf *b, const struct isf_sym *syms,
		   size_t nsyms)
{
	struct json_object *sy = json_object_new_object();

	for (size_t i = 0; i < nsyms; i++)
		add_sym(sy, syms[i].name, syms[i].addr);
	return finish(b, sy);
}

char *isf_from_btf_map(const struct btf *b, const char *map_path)
{
	struct json_object *sy;
	char line[1024], name[512], t;
	unsigned long long a;
	FILE *f = fopen(map_path, "r");

	if (!f)
		return NULL;
	sy = json_object_new_object();
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %511s", &a, &t, name) == 3 &&
		    strchr("TtDdBbRr", t) &&
		    !json_object_object_get_ex(sy, name, NULL))
			add_sym(sy, name, a);
	fclose(f);
	return finish(b, sy);
}
