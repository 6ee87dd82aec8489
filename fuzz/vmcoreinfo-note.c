// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The VMCOREINFO note qvmi_linux_dump_kernel() reads from guest memory
 * (src/os/linux/dumpinfo.c): the input is copied into the synthetic
 * kernel's direct map (tests/lib/fake-kernel.c) where vmcoreinfo_note
 * points.  Oracles: success means a descriptor of 1..4096 bytes of text
 * starting "OSRELEASE=" of this kernel, NUL-terminated, and an image part
 * inside [_text, _end); every input ends without a crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/lib/fake-kernel.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { FUZZ_MEM = 4 << 20, NOTE_PA = 0x300000, NOTE_MAX = 0x4000 };

static void must(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *mem;
	struct qvmi_dump_kernel d;
	struct fk k;
	int err;

	if (!mem && !(mem = malloc(FUZZ_MEM)))
		abort();
	memset(mem, 0, FUZZ_MEM);
	memcpy(mem + NOTE_PA, data, size < NOTE_MAX ? size : NOTE_MAX);
	if (fk_create_over(&k, FK_NEW, mem, FUZZ_MEM, NULL, 0)) {
		fk_destroy(&k);
		return 0;
	}
	strcpy(k.lx->release, "6.1.0-57-amd64");
	fk_w64(&k, fk_sym(FK_SYM_VMCOREINFO_NOTE), FK_POB + NOTE_PA);
	err = qvmi_linux_dump_kernel(k.lx, &d);
	if (!err) {
		must(d.vmcoreinfo_len >= 1 && d.vmcoreinfo_len <= 4096);
		must(d.vmcoreinfo[d.vmcoreinfo_len] == '\0');
		must(strlen(d.vmcoreinfo) == d.vmcoreinfo_len);
		must(!strncmp(d.vmcoreinfo, "OSRELEASE=6.1.0-57-amd64\n", 25) ||
		     !strcmp(d.vmcoreinfo, "OSRELEASE=6.1.0-57-amd64"));
		must(d.nimage >= 1 && d.image[0].va == FK_TEXT_VA);
	}
	qvmi_dump_kernel_deinit(&d);
	fk_destroy(&k);
	return 0;
}
