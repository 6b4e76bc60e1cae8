/* The installed header must compile on its own, as the first include of a C program. */
#include <socketcore.h>

int main(void) {
    return SOCKETCORE_VERSION_MAJOR >= 0 ? 0 : 1;
}
