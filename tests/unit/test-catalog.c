/* The operation catalog: names, option parsing, dependencies, and that
 * every BPF program a row names exists in the embedded BPF text. */
#include <errno.h>
#include <string.h>

#include "../../programs/rdblat.h"
#include "catalog.h"
#include "rdblat.bpf.inc"
#include "tap.h"

static int defined_in_text(const char *fn)
{
	char pat[96];

	snprintf(pat, sizeof(pat), "(%s,", fn);
	if (strstr(rdblat_bpf_text, pat))
		return 1;
	snprintf(pat, sizeof(pat), "int %s(struct pt_regs *ctx)", fn);
	return strstr(rdblat_bpf_text, pat) != NULL;
}

int main(void)
{
	uint32_t mask = 0;
	char bad[32];
	int i, missing = 0, rows_per_op[OP_COUNT] = { 0 };

	ok(catalog_op_by_name("txn_get") == OP_TXN_GET, "names are case-blind");
	ok(catalog_op_by_name("NOPE") == -1, "unknown name: -1");
	ok(catalog_parse_ops("GET,TXN_COMMIT", &mask, bad, sizeof(bad)) == 0 &&
	   mask == ((1u << OP_GET) | (1u << OP_TXN_COMMIT)), "GET,TXN_COMMIT");
	ok(catalog_parse_ops("GET,BOGUS", &mask, bad, sizeof(bad)) == -EINVAL &&
	   strcmp(bad, "BOGUS") == 0, "the bad name is reported");
	ok(catalog_parse_ops(",", &mask, bad, sizeof(bad)) == -EINVAL,
	   "an empty list is refused");
	ok(catalog_closure(1u << OP_TXN_COMMIT) & (1u << OP_TXN_PUT),
	   "TXN_COMMIT brings the TXN_PUT probes that feed its bytes");
	ok(catalog_closure(1u << OP_STALL_STOP) & (1u << OP_STALL_DELAY),
	   "STALL_STOP brings the DelayWrite probes that time it");
	ok(catalog_parse_ops("stall", &mask, bad, sizeof(bad)) == 0 &&
	   mask == ((1u << OP_STALL_DELAY) | (1u << OP_STALL_STOP)),
	   "STALL is both stall rows");
	ok(catalog_parse_ops("all", &mask, bad, sizeof(bad)) == 0 &&
	   mask == (1u << OP_COUNT) - 1, "all is every op");
	ok(!(catalog_default_mask() & (1u << OP_ITER_NEXT)) &&
	   (catalog_default_mask() | (1u << OP_ITER_NEXT)) ==
	   (1u << OP_COUNT) - 1, "every op but ITER_NEXT by default");
	ok(catalog_op_by_name("TXN_GET_FOR_UPDATE") == OP_TXN_GET_FOR_UPDATE &&
	   catalog_op_by_name("INGEST") == OP_INGEST, "the new rows have names");
	for (i = 0; i < catalog_nrows; i++) {
		const struct catalog_row *r = &catalog_rows[i];

		if (r->entry_fn && !defined_in_text(r->entry_fn))
			missing++;
		if (r->return_fn && !defined_in_text(r->return_fn))
			missing++;
		if (!catalog_row_aux(r))
			rows_per_op[r->op]++;
	}
	ok(missing == 0, "every program named by a row is in the BPF text");
	for (i = 0; i < OP_COUNT; i++)
		ok(rows_per_op[i] > 0 || catalog_ops[i].timed_by,
		   "%s has at least one timing row", catalog_ops[i].name);
	missing = 0;
	for (i = 0; i < catalog_nrows; i++) {
		const struct catalog_row *r = &catalog_rows[i];
		int capi = catalog_row_wanted(CHOOSE_CAPI, r);
		int cxx = catalog_row_wanted(CHOOSE_CXX, r);
		int both = catalog_row_wanted(CHOOSE_BOTH, r);

		if ((r->layer == LAYER_CXX || r->layer == LAYER_CXX_AUX) &&
		    (capi || !cxx || !both))
			missing++;
		if ((r->layer == LAYER_CAPI || r->layer == LAYER_TALLY) &&
		    (!capi || cxx || !both))
			missing++;
		if ((r->layer == LAYER_BG || r->layer == LAYER_BG_AUX) &&
		    !(capi && cxx && both))
			missing++;
	}
	ok(missing == 0, "C API programs get no C++ foreground rows, C++ "
	   "programs no C API rows, background rows always");
	return done_testing();
}
