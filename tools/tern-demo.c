/* tern-demo - placeholder until the record layer lands. */
#include <stdio.h>

#include "tern/tern.h"

int main(void)
{
    printf("tern %s\n", TERN_VERSION_STRING);
    return 0;
}
