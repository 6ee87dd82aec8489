// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Volatility ISF as dwarf2json really writes it, not as we synthesise it:
 * tests/unit/data/linux32-dwarf2json.json is cut, by
 * tests/unit/data/isf-trim.py, from the output of dwarf2json 0.6.0
 * ("dwarf2json linux --elf vmlinux-6.1.0-50-686-pae --system-map
 * System.map-6.1.0-50-686-pae", 34 MB) for Debian's
 * linux-image-6.1.0-50-686-pae-dbg 6.1.176-1.  Its field entries, metadata
 * and base types are the tool's, verbatim.  The offsets asserted below are
 * the ones dwarf2json emitted, and each agrees with `pahole -C` on the
 * same debug vmlinux (pahole 1.24): task_struct pid 1108, tgid 1112, tasks
 * 968, comm 1412, mm 1008, real_parent 1120, cred 1404, size 6592;
 * mm_struct pgd 28 (inside the anonymous struct), arg_start 164, size 560;
 * maple_range_64 pivot 4, slot 128; maple_arange_64 pivot 4, slot 84;
 * prb_desc_ring infos 8; prb_data_ring data 4 (text_data_ring at 24);
 * printk_info text_len 16, caller_id 20, size 88; module core_layout 256
 * (size at +4); dentry d_name 20 (qstr name at +8).  Except for bitfields:
 * pahole puts printk_info.level at byte 19 bit 5; dwarf2json 0.6.0 wrote
 * offset 0, bit_position 0 (see lost_bits in isf.c).
 *
 * The other tests pin what the real output needed: pointers to opaque
 * structs, symbols at address 0, lost bitfield positions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "harness.h"
#include "qvmi.h"
#include "testdata.h"
#include "os/linux/linux.h"

static struct qvmi_isf *load_str(struct qvmi_ctx *ctx, const char *s)
{
	struct qvmi_isf *isf = NULL;

	CHECK_MSG(!qvmi__isf_load(ctx, s, strlen(s), &isf), "%s",
		  qvmi_errmsg(ctx));
	return isf;
}

static uint64_t off(struct qvmi_ctx *ctx, struct qvmi_isf *isf,
		    const char *type, const char *path)
{
	struct qvmi_linux_member m = { 0 };

	CHECK_MSG(!qvmi__isf_member(ctx, isf, type, path, &m), "%s.%s: %s",
		  type, path, qvmi_errmsg(ctx));
	CHECK_INT(m.bit_size, ==, 0);
	return m.bit_offset / 8;
}

static uint64_t size(struct qvmi_ctx *ctx, struct qvmi_isf *isf,
		     const char *type)
{
	uint64_t v = 0;

	CHECK_MSG(!qvmi__isf_type_size(ctx, isf, type, &v), "%s: %s", type,
		  qvmi_errmsg(ctx));
	return v;
}

static void test_fixture(void)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_isf *isf = NULL;
	struct qvmi_linux_member m;
	size_t len = 0;
	char *text = qvmi_test_data("linux32-dwarf2json.json", &len);
	uint64_t v;

	CHECK(text);
	/* the fixture is the tool's output, metadata and all */
	{
		struct json_object *root = json_tokener_parse(text), *o = NULL;

		CHECK(json_object_object_get_ex(root, "metadata", &o));
		CHECK(json_object_object_get_ex(o, "producer", &o));
		CHECK(json_object_object_get_ex(o, "name", &o));
		CHECK_STR(json_object_get_string(o), "dwarf2json");
		json_object_put(root);
	}
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_MSG(!qvmi__isf_load(ctx, text, len, &isf), "%s",
		  qvmi_errmsg(ctx));
	CHECK_U64(off(ctx, isf, "task_struct", "pid"), ==, 1108);
	CHECK_U64(off(ctx, isf, "task_struct", "tgid"), ==, 1112);
	CHECK_U64(off(ctx, isf, "task_struct", "tasks"), ==, 968);
	CHECK_U64(off(ctx, isf, "task_struct", "tasks.prev"), ==, 972);
	CHECK_U64(off(ctx, isf, "task_struct", "comm"), ==, 1412);
	CHECK_U64(off(ctx, isf, "task_struct", "comm[15]"), ==, 1427);
	CHECK_U64(off(ctx, isf, "task_struct", "mm"), ==, 1008);
	CHECK_U64(off(ctx, isf, "task_struct", "real_parent"), ==, 1120);
	CHECK_U64(off(ctx, isf, "task_struct", "cred"), ==, 1404);
	CHECK_U64(size(ctx, isf, "task_struct"), ==, 6592);
	/* 6.1 wraps mm_struct's members in an anonymous struct:
	 * "unnamed_field_0" of type "unnamed_<sha1>" */
	CHECK_U64(off(ctx, isf, "mm_struct", "pgd"), ==, 28);
	CHECK_U64(off(ctx, isf, "mm_struct", "mm_mt.ma_root"), ==, 4);
	CHECK_U64(off(ctx, isf, "mm_struct", "arg_start"), ==, 164);
	CHECK_U64(size(ctx, isf, "struct mm_struct"), ==, 560);
	/* maple nodes: an anonymous union inside maple_node */
	CHECK_U64(size(ctx, isf, "maple_node"), ==, 256);
	CHECK_U64(off(ctx, isf, "maple_node", "mr64.pivot"), ==, 4);
	CHECK_U64(off(ctx, isf, "maple_node", "mr64.slot"), ==, 128);
	CHECK_U64(off(ctx, isf, "maple_node", "ma64.pivot"), ==, 4);
	CHECK_U64(off(ctx, isf, "maple_node", "ma64.slot"), ==, 84);
	CHECK_OK(qvmi__isf_member(ctx, isf, "maple_node", "mr64.slot", &m));
	CHECK_U64(m.size, ==, 32 * 4); /* void *slot[32], 4-byte pointers */
	/* the printk ring */
	CHECK_U64(off(ctx, isf, "printk_ringbuffer", "desc_ring.infos"), ==, 8);
	CHECK_U64(off(ctx, isf, "printk_ringbuffer", "text_data_ring.data"), ==,
		  28);
	CHECK_U64(off(ctx, isf, "prb_desc", "text_blk_lpos.next"), ==, 8);
	CHECK_U64(off(ctx, isf, "printk_info", "text_len"), ==, 16);
	CHECK_U64(off(ctx, isf, "printk_info", "caller_id"), ==, 20);
	CHECK_U64(size(ctx, isf, "printk_info"), ==, 88);
	CHECK_U64(size(ctx, isf, "prb_desc"), ==, 12);
	/* lost bitfield positions: refused, not answered as bit 0 */
	CHECK_INT(qvmi__isf_member(ctx, isf, "printk_info", "level", &m), ==,
		  -ENOENT);
	CHECK(strstr(qvmi_errmsg(ctx), "bitfield positions"));
	CHECK_U64(off(ctx, isf, "module", "core_layout.size"), ==, 260);
	CHECK_U64(off(ctx, isf, "module", "name"), ==, 12);
	CHECK_INT(qvmi__isf_member(ctx, isf, "module", "mem", &m), ==,
		  -ENOENT); /* 6.4+ */
	CHECK_U64(off(ctx, isf, "dentry", "d_name.name"), ==, 28);
	CHECK_U64(off(ctx, isf, "cred", "uid.val"), ==, 4);
	CHECK_U64(off(ctx, isf, "vm_area_struct", "vm_file"), ==, 60);
	CHECK_U64(size(ctx, isf, "enum module_state"), ==, 4);
	CHECK_U64(size(ctx, isf, "long long unsigned int"), ==, 8);
	CHECK_U64(size(ctx, isf, "pointer"), ==, 4);
	/* link-time addresses, from the System.map */
	CHECK_OK(qvmi__isf_sym(isf, "_text", &v));
	CHECK_U64(v, ==, 0xc1000000);
	CHECK_OK(qvmi__isf_sym(isf, "linux_banner", &v));
	CHECK_U64(v, ==, 0xc1a2c180);
	CHECK_OK(qvmi__isf_sym(isf, "init_task", &v));
	CHECK_U64(v, ==, 0xc1c5f4c0);
	CHECK_OK(qvmi__isf_sym(isf, "prb", &v));
	CHECK_U64(v, ==, 0xc1c7d444);
	/* address 0 in the file: a file symbol, a local static, an extern */
	CHECK_INT(qvmi__isf_sym(isf, "8250_core.c", &v), ==, -ENOENT);
	CHECK_INT(qvmi__isf_sym(isf, "CHUNKSZ", &v), ==, -ENOENT);
	CHECK_INT(qvmi__isf_sym(isf, "a_enode", &v), ==, -ENOENT);
	CHECK_U64(qvmi__isf_nsyms(isf), ==, 16);
	qvmi__isf_free(isf);
	qvmi_ctx_destroy(ctx);
	free(text);
}

#define HEAD                                                            \
	"{\"metadata\":{\"format\":\"6.2.0\"},\"enums\":{},"            \
	"\"base_types\":{\"int\":{\"size\":4,\"signed\":true,\"kind\":" \
	"\"int\",\"endian\":\"little\"},\"unsigned char\":{\"size\":1," \
	"\"signed\":false,\"kind\":\"char\",\"endian\":\"little\"},"    \
	"\"pointer\":{\"size\":4,\"signed\":false,\"kind\":\"int\","    \
	"\"endian\":\"little\"},\"void\":{\"size\":0,\"signed\":false," \
	"\"kind\":\"void\",\"endian\":\"little\"}},"
#define BF(pos, len)                                    \
	"{\"kind\":\"bitfield\",\"bit_position\":" #pos \
	",\"bit_length\":" #len                         \
	",\"type\":{\"kind\":\"base\",\"name\":\"unsigned char\"}}"

/* __genradix in 6.1: "struct genradix_root *root", genradix_root never
 * defined; and a symbol of such a pointer type. */
static const char opaque[] = HEAD
	"\"user_types\":{\"__genradix\":{\"kind\":\"struct\",\"size\":4,"
	"\"fields\":{\"root\":{\"offset\":0,\"type\":{\"kind\":"
	"\"pointer\",\"subtype\":{\"kind\":\"struct\",\"name\":"
	"\"genradix_root\"}}}}}},"
	"\"symbols\":{\"a_enode\":{\"address\":3238002688,\"type\":{"
	"\"kind\":\"pointer\",\"subtype\":{\"kind\":\"struct\",\"name\":"
	"\"maple_enode\"}}}}}";

static void test_opaque(void)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_isf *isf;
	struct qvmi_linux_member m;
	const char *by_value = HEAD
		"\"user_types\":{\"a\":{\"kind\":\"struct\",\"size\":4,"
		"\"fields\":{\"r\":{\"offset\":0,\"type\":{\"kind\":"
		"\"struct\",\"name\":\"genradix_root\"}}}}},"
		"\"symbols\":{}}";
	const char *base = HEAD
		"\"user_types\":{},\"symbols\":{\"s\":{\"address\":1,"
		"\"type\":{\"kind\":\"pointer\",\"subtype\":{\"kind\":"
		"\"base\",\"name\":\"u128\"}}}}}";

	CHECK_OK(qvmi_ctx_create(&ctx));
	isf = load_str(ctx, opaque);
	CHECK_OK(qvmi__isf_member(ctx, isf, "__genradix", "root", &m));
	CHECK_U64(m.size, ==, 4);
	CHECK_STR(m.type_name, "");
	/* a path cannot step through the pointer into the opaque struct */
	CHECK_INT(qvmi__isf_member(ctx, isf, "__genradix", "root.x", &m), ==,
		  -EINVAL);
	qvmi__isf_free(isf);
	/* held by value it must exist; base types always must */
	isf = NULL;
	CHECK_INT(qvmi__isf_load(ctx, by_value, strlen(by_value), &isf), ==,
		  -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "genradix_root"));
	CHECK_INT(qvmi__isf_load(ctx, base, strlen(base), &isf), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "u128"));
	CHECK(!isf);
	qvmi_ctx_destroy(ctx);
}

static void test_addr0(void)
{
	const char *s = HEAD "\"user_types\":{},\"symbols\":{"
			     "\"CHUNKSZ\":{\"address\":0,\"type\":{\"kind\":"
			     "\"base\",\"name\":\"int\"}},"
			     "\"one\":{\"address\":1}}}";
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_isf *isf;
	uint64_t v = 7;

	CHECK_OK(qvmi_ctx_create(&ctx));
	isf = load_str(ctx, s);
	CHECK_INT(qvmi__isf_sym(isf, "CHUNKSZ", &v), ==, -ENOENT);
	CHECK_U64(v, ==, 7);
	CHECK_OK(qvmi__isf_sym(isf, "one", &v));
	CHECK_U64(v, ==, 1);
	qvmi__isf_free(isf);
	qvmi_ctx_destroy(ctx);
}

/* Two bitfields at the same bit: positions lost, every bitfield refused;
 * distinct positions (or one alone at bit 0) are answered. */
static void bits_case(const char *fields, int want_a, uint64_t bit_b)
{
	char s[1024];
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_isf *isf;
	struct qvmi_linux_member m;

	snprintf(s, sizeof(s),
		 HEAD "\"user_types\":{\"p\":{\"kind\":\"struct\",\"size\":4,"
		      "\"fields\":{%s,\"n\":{\"offset\":1,\"type\":{\"kind\":"
		      "\"base\",\"name\":\"unsigned char\"}}}}},"
		      "\"symbols\":{}}",
		 fields);
	CHECK_OK(qvmi_ctx_create(&ctx));
	isf = load_str(ctx, s);
	CHECK_INT(qvmi__isf_member(ctx, isf, "p", "a", &m), ==, want_a);
	if (!want_a) {
		CHECK_U64(m.bit_offset, ==, 0);
		CHECK_INT(m.bit_size, ==, 5);
		CHECK_OK(qvmi__isf_member(ctx, isf, "p", "b", &m));
		CHECK_U64(m.bit_offset, ==, bit_b);
		CHECK_INT(m.bit_size, ==, 3);
	}
	CHECK_OK(qvmi__isf_member(ctx, isf, "p", "n", &m));
	CHECK_U64(m.bit_offset, ==, 8);
	qvmi__isf_free(isf);
	qvmi_ctx_destroy(ctx);
}

static void test_lost_bits(void)
{
	/* dwarf2json 0.6.0 on DWARF 5: printk_info's flags:5 and level:3 */
	bits_case("\"a\":{\"offset\":0,\"type\":" BF(
			  0, 5) "},"
				"\"b\":{\"offset\":0,\"type\":" BF(0, 3) "}",
		  -ENOENT, 0);
	bits_case("\"a\":{\"offset\":0,\"type\":" BF(
			  0, 5) "},"
				"\"b\":{\"offset\":0,\"type\":" BF(5, 3) "}",
		  0, 5);
	bits_case("\"a\":{\"offset\":0,\"type\":" BF(
			  0, 5) "},"
				"\"b\":{\"offset\":2,\"type\":" BF(0, 3) "}",
		  0, 16);
}

static const struct qvmi_test isf_real_tests[] = {
	{ "fixture_6_1_686_pae", test_fixture },
	{ "opaque_pointer", test_opaque },
	{ "address_0", test_addr0 },
	{ "lost_bitfields", test_lost_bits },
};
QVMI_SUITE(isf_real, isf_real_tests);
