// SPDX-License-Identifier: LGPL-2.1-or-later
/* qvmi translate / pages: guest-virtual address spaces. */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

enum { OPT_DTB = OPT_CMD_BASE + 50, OPT_VA_VCPU };

struct va_args {
	uint64_t dtb;
	int vcpu; /* -1: not given */
	bool have_dtb;
};

static int va_opt(struct cli *cli, int opt, const char *arg, void *data)
{
	struct va_args *a = data;
	uint64_t v;

	if (cli_parse_u64(arg, &v)) {
		fprintf(stderr, "qvmi: bad number '%s'\n", arg);
		return -1;
	}
	if (opt == OPT_DTB) {
		a->dtb = v;
		a->have_dtb = true;
	} else if (v > 4096) {
		fprintf(stderr, "qvmi: bad --vcpu '%s'\n", arg);
		return -1;
	} else {
		a->vcpu = (int)v;
	}
	return 0;
}

static const struct option va_opts[] = {
	{ "dtb", required_argument, NULL, OPT_DTB },
	{ "vcpu", required_argument, NULL, OPT_VA_VCPU },
	{ 0 },
};

/* --dtb X, else CR3 of --vcpu N (default 0): the kernel's page tables. */
static int resolve_dtb(struct cli *cli, struct va_args *a)
{
	struct qvmi_regs_x86 r;
	int err;

	if (a->have_dtb)
		return 0;
	err = qvmi_get_regs(cli->ctx, a->vcpu < 0 ? 0 : (unsigned int)a->vcpu,
			    &r);
	if (err)
		return cli_fail(cli, "CR3", err);
	a->dtb = r.cr3;
	return 0;
}

static void flags_str(uint32_t f, char out[4])
{
	out[0] = f & QVMI_PTE_W ? 'w' : '-';
	out[1] = f & QVMI_PTE_U ? 'u' : 'k';
	out[2] = f & QVMI_PTE_NX ? '-' : 'x';
	out[3] = '\0';
}

static const char *size_str(uint64_t sz)
{
	switch (sz) {
	case 1ull << 12:
		return "4K";
	case 1ull << 21:
		return "2M";
	case 1ull << 22:
		return "4M";
	case 1ull << 30:
		return "1G";
	default:
		return "?";
	}
}

int cmd_translate(struct cli *cli, int argc, char **argv)
{
	struct va_args a = { 0, -1, false };
	struct qvmi_translation t;
	uint64_t va;
	char fl[4];
	int i, err;

	i = cli_parse(cli, cli_find_cmd("translate"), argc, argv, va_opts,
		      va_opt, &a);
	if (i == CLI_EXIT_HELP)
		return 0;
	if (i < 0)
		return 2;
	if (argc - i != 1 || cli_parse_u64(argv[i], &va))
		return cli_usage_error(cli_find_cmd("translate"),
				       "need one VA"),
		       2;
	if (cli_attach(cli) || resolve_dtb(cli, &a))
		return 1;
	err = qvmi_translate_ex(cli->ctx, a.dtb, va, &t);
	if (err)
		return cli_fail(cli, "translate", err);
	flags_str(t.flags, fl);
	if (cli->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "va", json_object_new_uint64(va));
		json_object_object_add(o, "pa", json_object_new_uint64(t.pa));
		json_object_object_add(o, "dtb", json_object_new_uint64(a.dtb));
		json_object_object_add(o, "page_size",
				       json_object_new_uint64(t.page_size));
		json_object_object_add(o, "writable",
				       json_object_new_boolean(t.flags &
							       QVMI_PTE_W));
		json_object_object_add(o, "user",
				       json_object_new_boolean(t.flags &
							       QVMI_PTE_U));
		json_object_object_add(o, "nx",
				       json_object_new_boolean(t.flags &
							       QVMI_PTE_NX));
		cli_json_print(o);
	} else {
		printf("0x%llx -> 0x%llx  %s page, %s  (dtb 0x%llx)\n",
		       (unsigned long long)va, (unsigned long long)t.pa,
		       size_str(t.page_size), fl, (unsigned long long)a.dtb);
	}
	return 0;
}

struct pages_state {
	struct json_object *arr;
	uint64_t n, bytes;
};

static int page_cb(const struct qvmi_page_range *r, void *arg)
{
	struct pages_state *st = arg;
	char fl[4];

	st->n++;
	st->bytes += r->size;
	flags_str(r->flags, fl);
	if (st->arr) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "va", json_object_new_uint64(r->va));
		json_object_object_add(o, "pa", json_object_new_uint64(r->pa));
		json_object_object_add(o, "size",
				       json_object_new_uint64(r->size));
		json_object_object_add(o, "page_size",
				       json_object_new_uint64(r->page_size));
		json_object_object_add(o, "flags", json_object_new_string(fl));
		json_object_array_add(st->arr, o);
	} else {
		printf("%016llx-%016llx -> %016llx  %s %s\n",
		       (unsigned long long)r->va,
		       (unsigned long long)(r->va + r->size - 1),
		       (unsigned long long)r->pa, size_str(r->page_size), fl);
	}
	return 0;
}

int cmd_pages(struct cli *cli, int argc, char **argv)
{
	struct va_args a = { 0, -1, false };
	struct pages_state st = { NULL, 0, 0 };
	int i, err;

	i = cli_parse(cli, cli_find_cmd("pages"), argc, argv, va_opts, va_opt,
		      &a);
	if (i == CLI_EXIT_HELP)
		return 0;
	if (i < 0 || i != argc)
		return 2;
	if (cli_attach(cli) || resolve_dtb(cli, &a))
		return 1;
	if (cli->json)
		st.arr = json_object_new_array();
	err = qvmi_pages(cli->ctx, a.dtb, page_cb, &st);
	if (st.arr) {
		if (err >= 0)
			cli_json_print(st.arr);
		else
			json_object_put(st.arr);
	}
	if (err < 0)
		return cli_fail(cli, "pages", err);
	if (!cli->json)
		fprintf(stderr, "%llu ranges, %llu MiB mapped (dtb 0x%llx)\n",
			(unsigned long long)st.n,
			(unsigned long long)(st.bytes >> 20),
			(unsigned long long)a.dtb);
	return 0;
}
