#ifndef HUGEPAGE_GUARD_CLIBXML2_SHIM_H
#define HUGEPAGE_GUARD_CLIBXML2_SHIM_H
/* Only the tree API is needed: parse a document from memory and walk it. */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

/* xmlFree is a global function-pointer variable, which Swift 6 rejects as shared
 * mutable state. Calling it through a function keeps that out of Swift. */
static inline void hg_xml_free(void *p) { xmlFree(p); }
#endif
