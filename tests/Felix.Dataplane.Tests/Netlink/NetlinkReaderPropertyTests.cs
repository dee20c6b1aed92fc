namespace Felix.Dataplane.Tests.Netlink;

/// <summary>
/// Whatever arrives, the reader and decoders either decode it or throw
/// <see cref="Felix.Dataplane.Netlink.MalformedNetlinkException"/>: never another exception, never a
/// read outside the buffer (which in .NET would be an exception of another kind). Seeded, so a
/// failure names the case that reproduces it.
/// </summary>
public sealed class NetlinkReaderPropertyTests
{
    private static readonly string[] Valid =
    [
        "34000000 1800 0200 09000000 00000000 02 20 00 00 fe 50 fd 01 00000000 0800 0f00 fe000000 0800 0100 0a410007 0800 0400 05000000",
        "38000000 1000 0000 00000000 00000000 00 00 0100 03000000 03100000 00000000 0a00 0300 63616c693100 0000 0a00 0100 96c4864dd72c 0000",
        "44000000 0200 0003 07000000 00000000 eaffffff 2c000000 1800 0505 07000000 00000000 2000 0100 4e657874686f702068617320696e76616c6964206761746577617900",
        "38000000 1800 0200 09000000 00000000 0a 80 00 00 fe 50 00 01 04000000 1400 0100 fd650000000000000000000000000007 0800 0500 c0a80302",
        "14000000 0300 0200 09000000 00000000 00000000",
    ];

    public static TheoryData<int> Batches => [.. Enumerable.Range(0, 20)];

    /// <summary>20 batches of 600 cases: 12,000 inputs, half random bytes, half mutated valid answers.</summary>
    [Theory]
    [MemberData(nameof(Batches))]
    public void Any_input_decodes_or_is_a_typed_error(int batch)
    {
        for (var i = 0; i < 600; i++)
        {
            var seed = (batch * 600) + i;
            var input = Input(new Random(seed));
            var thrown = Record.Exception(() => NetlinkReaderTests.DecodeAll(input));
            Assert.True(thrown is null or Felix.Dataplane.Netlink.MalformedNetlinkException,
                $"case {seed} ({Convert.ToHexStringLower(input)}) threw {thrown}");
        }
    }

    private static byte[] Input(Random random)
    {
        if (random.Next(2) == 0)
        {
            var noise = new byte[random.Next(0, 96)];
            random.NextBytes(noise);
            if (noise.Length >= 6 && random.Next(2) == 0)
            {
                // A plausible length and type, so the noise gets past the header more often.
                BitConverter.TryWriteBytes(noise.AsSpan(0, 4), (uint)random.Next(0, noise.Length + 8));
                BitConverter.TryWriteBytes(noise.AsSpan(4, 2), (ushort)random.Next(0, 30));
            }
            return noise;
        }
        var input = string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => Valid[random.Next(Valid.Length)]));
        var bytes = NetlinkReaderTests.Bytes(input);
        for (var flips = random.Next(1, 4); flips > 0; flips--)
        {
            switch (random.Next(3))
            {
                case 0:
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                    break;
                case 1:
                    bytes = bytes[..random.Next(bytes.Length + 1)];
                    if (bytes.Length == 0)
                    {
                        return bytes;
                    }
                    break;
                default:
                    // A length field of a header or attribute, where a lie does the most harm.
                    var at = random.Next(bytes.Length);
                    bytes[at] = (byte)(random.Next(2) == 0 ? 0 : 0xff);
                    break;
            }
        }
        return bytes;
    }
}
