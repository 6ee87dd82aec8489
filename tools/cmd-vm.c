// SPDX-License-Identifier: LGPL-2.1-or-later
/* qvmi info / pause / resume / status / regs. */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

static int simple_parse(struct cli *cli, const char *name, int argc,
			char **argv, int *exit_code)
{
	int i = cli_parse(cli, cli_find_cmd(name), argc, argv, NULL, NULL,
			  NULL);

	if (i == CLI_EXIT_HELP) {
		*exit_code = 0;
		return -1;
	}
	if (i < 0 || i != argc) {
		if (i >= 0)
			cli_usage_error(cli_find_cmd(name),
					"unexpected argument '%s'", argv[i]);
		*exit_code = 2;
		return -1;
	}
	return cli_attach(cli) ? (*exit_code = 1, -1) : 0;
}

static struct json_object *map_json(struct qvmi_ctx *ctx)
{
	struct json_object *arr = json_object_new_array();
	struct qvmi_map_entry e;
	size_t i;

	for (i = 0; qvmi_map_get(ctx, i, &e) == 0; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "gpa", json_object_new_uint64(e.gpa));
		json_object_object_add(o, "size",
				       json_object_new_uint64(e.size));
		json_object_object_add(o, "source",
				       json_object_new_string(e.source));
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *ram_json(struct qvmi_ctx *ctx)
{
	struct json_object *arr = json_object_new_array();
	struct qvmi_ram_range r;
	size_t i;

	for (i = 0; qvmi_ram_get(ctx, i, &r) == 0; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "gpa", json_object_new_uint64(r.gpa));
		json_object_object_add(o, "size",
				       json_object_new_uint64(r.size));
		json_object_array_add(arr, o);
	}
	return arr;
}

static void info_text(struct qvmi_ctx *ctx, const struct qvmi_vm_info *vi,
		      enum qvmi_vm_state st)
{
	struct qvmi_map_entry e;
	struct qvmi_ram_range r;
	uint64_t total = 0;
	size_t i;

	printf("name:     %s\nuuid:     %s\nbackend:  %s\n",
	       vi->name[0] ? vi->name : "-", vi->uuid[0] ? vi->uuid : "-",
	       vi->backend);
	if (vi->qemu_version[0])
		printf("qemu:     %s (pid %d)\n", vi->qemu_version, vi->pid);
	printf("arch:     %s\nvcpus:    %u\nstate:    %s\n",
	       vi->arch[0] ? vi->arch : "unknown", vi->vcpus,
	       qvmi_vm_state_name(st));
	printf("ram:\n");
	for (i = 0; qvmi_ram_get(ctx, i, &r) == 0; i++) {
		printf("  %016llx-%016llx  %10llu KiB\n",
		       (unsigned long long)r.gpa,
		       (unsigned long long)(r.gpa + r.size - 1),
		       (unsigned long long)(r.size >> 10));
		total += r.size;
	}
	printf("  total %llu MiB\nsources (guest-physical map, later "
	       "registrations win):\n",
	       (unsigned long long)(total >> 20));
	for (i = 0; qvmi_map_get(ctx, i, &e) == 0; i++)
		printf("  %016llx-%016llx  %s\n", (unsigned long long)e.gpa,
		       (unsigned long long)(e.gpa + e.size - 1), e.source);
}

int cmd_info(struct cli *cli, int argc, char **argv)
{
	enum qvmi_vm_state st = QVMI_VM_UNKNOWN;
	struct qvmi_vm_info vi;
	int rc = 0, err;

	if (simple_parse(cli, "info", argc, argv, &rc))
		return rc;
	err = qvmi_vm_info(cli->ctx, &vi);
	if (err)
		return cli_fail(cli, "info", err);
	qvmi_vm_state(cli->ctx, &st); /* best effort */
	if (cli->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name",
				       json_object_new_string(vi.name));
		json_object_object_add(o, "uuid",
				       json_object_new_string(vi.uuid));
		json_object_object_add(o, "backend",
				       json_object_new_string(vi.backend));
		json_object_object_add(o, "qemu",
				       json_object_new_string(vi.qemu_version));
		json_object_object_add(o, "pid", json_object_new_int(vi.pid));
		json_object_object_add(o, "arch",
				       json_object_new_string(vi.arch));
		json_object_object_add(o, "vcpus",
				       json_object_new_int((int)vi.vcpus));
		json_object_object_add(
			o, "state",
			json_object_new_string(qvmi_vm_state_name(st)));
		json_object_object_add(o, "ram", ram_json(cli->ctx));
		json_object_object_add(o, "map", map_json(cli->ctx));
		cli_json_print(o);
	} else {
		info_text(cli->ctx, &vi, st);
	}
	return 0;
}

static int control(struct cli *cli, const char *name, int argc, char **argv,
		   int (*fn)(struct qvmi_ctx *))
{
	enum qvmi_vm_state st;
	int rc = 0, err;

	if (simple_parse(cli, name, argc, argv, &rc))
		return rc;
	if (fn) {
		err = fn(cli->ctx);
		if (err)
			return cli_fail(cli, name, err);
	}
	err = qvmi_vm_state(cli->ctx, &st);
	if (err)
		return cli_fail(cli, name, err);
	if (cli->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(
			o, "state",
			json_object_new_string(qvmi_vm_state_name(st)));
		cli_json_print(o);
	} else {
		printf("%s\n", qvmi_vm_state_name(st));
	}
	return 0;
}

int cmd_pause(struct cli *cli, int argc, char **argv)
{
	return control(cli, "pause", argc, argv, qvmi_vm_pause);
}

int cmd_resume(struct cli *cli, int argc, char **argv)
{
	return control(cli, "resume", argc, argv, qvmi_vm_resume);
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	return control(cli, "status", argc, argv, NULL);
}

/* ---- regs ------------------------------------------------------------- */

static void regs_print(unsigned int vcpu, const struct qvmi_regs_x86 *r,
		       struct json_object *arr)
{
	struct json_object *o = arr ? json_object_new_object() : NULL;
	const char *name;
	uint64_t v;
	int col = 0, err;

	if (o)
		json_object_object_add(o, "vcpu",
				       json_object_new_int((int)vcpu));
	else
		printf("vCPU %u:\n", vcpu);
	for (unsigned int i = 0;
	     (err = qvmi_regs_x86_get(r, i, &name, &v)) != -ERANGE; i++) {
		if (err) /* not in r: what the source cannot give */
			continue;
		if (o) {
			json_object_object_add(o, name,
					       json_object_new_uint64(v));
			continue;
		}
		printf("  %-14s %016llx", name, (unsigned long long)v);
		if (++col % 3 == 0)
			putchar('\n');
	}
	if (o)
		json_object_array_add(arr, o);
	else if (col % 3)
		putchar('\n');
}

enum { OPT_VCPU = OPT_CMD_BASE };

static int regs_opt(struct cli *cli, int opt, const char *arg, void *data)
{
	uint64_t v;

	if (cli_parse_u64(arg, &v) || v > 4096) {
		fprintf(stderr, "qvmi: bad --vcpu '%s'\n", arg);
		return -1;
	}
	*(int *)data = (int)v;
	return 0;
}

int cmd_regs(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vcpu", required_argument, NULL, OPT_VCPU },
		{ 0 },
	};
	struct json_object *arr = NULL;
	struct qvmi_regs_x86 r;
	int vcpu = -1, n, i, err = 0, rc = 0;

	i = cli_parse(cli, cli_find_cmd("regs"), argc, argv, opts, regs_opt,
		      &vcpu);
	if (i == CLI_EXIT_HELP)
		return 0;
	if (i < 0 || i != argc)
		return 2;
	if (cli_attach(cli))
		return 1;
	n = qvmi_vcpu_count(cli->ctx);
	if (n < 0)
		return cli_fail(cli, "regs", n);
	if (vcpu >= n)
		return cli_error(cli, "regs", -ENOENT, "no vCPU %d (VM has %d)",
				 vcpu, n);
	if (cli->json)
		arr = json_object_new_array();
	for (i = vcpu < 0 ? 0 : vcpu; i < (vcpu < 0 ? n : vcpu + 1); i++) {
		err = qvmi_get_regs(cli->ctx, (unsigned int)i, &r);
		if (err)
			break;
		regs_print((unsigned int)i, &r, arr);
	}
	if (err && i == (vcpu < 0 ? 0 : vcpu)) {
		json_object_put(arr); /* nothing read: no result */
		rc = cli_fail(cli, "regs", err);
	} else {
		rc = cli_result(cli, "regs", arr, err);
	}
	return rc;
}
