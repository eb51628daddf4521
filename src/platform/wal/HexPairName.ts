// File names made of two fixed-width hex numbers, as etcd names WAL segments (%016x-%016x.wal)
// and snapshots (%016x-%016x.snap). Fixed width makes name order equal numeric order.

const hex16 = (n: number): string => n.toString(16).padStart(16, "0")

export function formatHexPairName(first: number, second: number, extension: string): string {
  return `${hex16(first)}-${hex16(second)}${extension}`
}

/** The two numbers in a name like `%016x-%016x<extension>`, or undefined for any other name. */
export function parseHexPairName(
  fileName: string, extension: string,
): [number, number] | undefined {
  if (fileName.length !== 33 + extension.length || !fileName.endsWith(extension)) return undefined
  const first = fileName.slice(0, 16)
  const second = fileName.slice(17, 33)
  const hex = /^[0-9a-f]{16}$/
  if (fileName[16] !== "-" || !hex.test(first) || !hex.test(second)) return undefined
  const pair: [number, number] = [Number.parseInt(first, 16), Number.parseInt(second, 16)]
  return Number.isSafeInteger(pair[0]) && Number.isSafeInteger(pair[1]) ? pair : undefined
}
