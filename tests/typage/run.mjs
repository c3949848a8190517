// typage (npm `age-encryption`, by age's author) as a command-line tool for
// tests/it/pq.rs: an age implementation that shares no code with Salama.
//
//   node run.mjs keygen                  hybrid identity, then its recipient (two lines)
//   node run.mjs encrypt RECIPIENT...    stdin -> age file on stdout
//   node run.mjs decrypt IDENTITY_FILE   age file on stdin -> plaintext on stdout
import * as age from "age-encryption"
import { readFileSync, writeSync } from "node:fs"

function stdin() {
    return new Uint8Array(readFileSync(0))
}

function write(bytes) {
    let off = 0
    while (off < bytes.length) off += writeSync(1, bytes, off)
}

const [cmd, ...args] = process.argv.slice(2)
switch (cmd) {
case "keygen": {
    const identity = await age.generateHybridIdentity()
    const recipient = await age.identityToRecipient(identity)
    write(new TextEncoder().encode(`${identity}\n${recipient}\n`))
    break
}
case "encrypt": {
    const e = new age.Encrypter()
    for (const r of args) e.addRecipient(r)
    write(await e.encrypt(stdin()))
    break
}
case "decrypt": {
    const d = new age.Decrypter()
    for (const line of readFileSync(args[0], "utf8").split("\n")) {
        const l = line.trim()
        if (l && !l.startsWith("#")) d.addIdentity(l)
    }
    write(await d.decrypt(stdin()))
    break
}
default:
    console.error("usage: run.mjs keygen | encrypt RECIPIENT... | decrypt IDENTITY_FILE")
    process.exit(2)
}
