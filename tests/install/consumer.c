/* A program built against the installed tern, to prove the install works. */
#include <stdio.h>
#include <string.h>

#include <tern/tern.h>

int main(void)
{
    const char *text = tern_strerror(TERN_ERR_DECODE);
    printf("tern %s: %s\n", TERN_VERSION_STRING, text);
    return strcmp(text, "malformed message") == 0 ? 0 : 1;
}
