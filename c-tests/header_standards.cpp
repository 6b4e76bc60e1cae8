/* header_standards.c compiled as C++ (C++98 to C++20): see that file. */
#include "header_standards.c"
