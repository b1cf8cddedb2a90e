/* nook's version, printed by `nook version`. */
#ifndef NOOK_TUI_VERSION_H
#define NOOK_TUI_VERSION_H
#define NOOK_VERSION "0.1.0"
#endif
