using Felix.Dataplane.Iptables;

namespace Felix.Dataplane.Tests.Iptables;

/// <summary>
/// The name and text checks: what they accept comes back unchanged, and anything that could change
/// the meaning of an iptables-restore line (whitespace, quotes, escapes, line breaks, NUL, a leading
/// option character) or that the kernel would refuse for length is an <see cref="ArgumentException"/>.
/// </summary>
public class IptablesNamesTests
{
    /// <summary>Refused by every name check: each could end, split or extend an argument.</summary>
    public static TheoryData<string> HostileNames => new()
    {
        string.Empty,
        " ",
        "a b",
        " a",
        "a ",
        "a\tb",
        "a\"b",
        "\"a",
        "a'b",
        "a\\b",
        "a\\",
        "a\nb",
        "\na",
        "a\rb",
        "a\r",
        "a\0b",
        "a\0",
        "-a",
        "--a",
        "!a",
        "! a",
        "a,b",
        "a;b",
        "a/b",
        "a#b",
        "a$b",
        "a*b",
        "é",
        "caf\u00e9",
        "a\u00a0b",
        "a\u2028b",
        "\uff41",
    };

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void A_chain_name_that_could_smuggle_syntax_is_refused(string name) =>
        Assert.Throws<ArgumentException>(() => IptablesNames.Chain(name));

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void An_ipset_name_that_could_smuggle_syntax_is_refused(string name) =>
        Assert.Throws<ArgumentException>(() => IptablesNames.IpSet(name));

    [Theory]
    [MemberData(nameof(HostileNames))]
    [InlineData("+")]
    [InlineData("a++")]
    [InlineData("a+b")]
    [InlineData("+a")]
    [InlineData("a:b")]
    public void An_interface_name_that_could_smuggle_syntax_is_refused(string name) =>
        Assert.Throws<ArgumentException>(() => IptablesNames.Interface(name));

    [Theory]
    [InlineData("felix-FORWARD")]
    [InlineData("felix-to-0123456789abcdef")]
    [InlineData("FORWARD")]
    [InlineData("a")]
    [InlineData("_x")]
    [InlineData("9x")]
    [InlineData("felix.pro-kns.default")]
    [InlineData("abcdefghijklmnopqrstuvwxyz01")]
    public void A_valid_chain_name_comes_back_unchanged(string name) =>
        Assert.Equal(name, IptablesNames.Chain(name));

    [Theory]
    [InlineData("felix-v4-x")]
    [InlineData("felix-all-ipam-pools-v6")]
    [InlineData("felix:v6:x")]
    [InlineData("abcdefghijklmnopqrstuvwxyz01234")]
    public void A_valid_ipset_name_comes_back_unchanged(string name) =>
        Assert.Equal(name, IptablesNames.IpSet(name));

    [Theory]
    [InlineData("eth0")]
    [InlineData("cali+")]
    [InlineData("cali1234567890a")]
    [InlineData("abcdefghijklmn+")]
    [InlineData("br-1.100")]
    [InlineData("tunl0")]
    public void A_valid_interface_name_or_prefix_comes_back_unchanged(string name) =>
        Assert.Equal(name, IptablesNames.Interface(name));

    [Theory]
    [InlineData(28, true)]
    [InlineData(29, false)]
    [InlineData(64, false)]
    public void A_chain_name_is_limited_to_28_characters(int length, bool accepted) =>
        AssertLengthLimit(IptablesNames.Chain, new string('c', length), accepted);

    [Theory]
    [InlineData(31, true)]
    [InlineData(32, false)]
    [InlineData(64, false)]
    public void An_ipset_name_is_limited_to_31_characters(int length, bool accepted) =>
        AssertLengthLimit(IptablesNames.IpSet, new string('s', length), accepted);

    [Theory]
    [InlineData(15, true)]
    [InlineData(16, false)]
    [InlineData(40, false)]
    public void An_interface_name_is_limited_to_15_characters(int length, bool accepted) =>
        AssertLengthLimit(IptablesNames.Interface, new string('i', length), accepted);

    /// <summary>
    /// iptables checks the argument as written, '+' included, against IFNAMSIZ:
    /// <c>-i abcdefghijklmno+</c> fails with "interface name ... must be shorter than IFNAMSIZ (15)",
    /// which would fail the whole restore.
    /// </summary>
    [Theory]
    [InlineData(14, true)]
    [InlineData(15, false)]
    [InlineData(16, false)]
    public void An_interface_prefix_with_its_plus_is_limited_to_15_characters(int prefixLength, bool accepted) =>
        AssertLengthLimit(IptablesNames.Interface, new string('i', prefixLength) + "+", accepted);

    /// <summary>Refused as comment or log-prefix text: anything that is not printable ASCII inside quotes.</summary>
    public static TheoryData<string> HostileText => new()
    {
        string.Empty,
        "a\"b",
        "it's",
        "\"",
        "a\" -j ACCEPT \"",
        "a\\b",
        "a\\",
        "\\\"",
        "a\nb",
        "\na",
        "a\rb",
        "a\r",
        "a\tb",
        "a\0b",
        "a\u007fb",
        "a\u001bb",
        "caf\u00e9",
        "a\u00a0b",
        "a\u2028b",
        "\ud83d\ude00",
    };

    [Theory]
    [MemberData(nameof(HostileText))]
    public void Text_that_could_leave_its_quotes_or_its_line_is_refused(string text) =>
        Assert.Throws<ArgumentException>(() => IptablesNames.Text(text, IptablesNames.MaxCommentLength));

    [Theory]
    [MemberData(nameof(HostileText))]
    public void TruncatedComment_refuses_the_same_text(string text) =>
        Assert.Throws<ArgumentException>(() => IptablesNames.TruncatedComment(text));

    [Theory]
    [InlineData("Policy kns.default/allow-dns ingress")]
    [InlineData(" leading and trailing spaces ")]
    [InlineData("-j ACCEPT")]
    [InlineData("! --dports 80")]
    [InlineData("it is #1 {ok} ~ `x` @ [y]")]
    [InlineData("a")]
    public void Printable_ascii_text_without_quote_or_backslash_comes_back_unchanged(string text) =>
        Assert.Equal(text, IptablesNames.Text(text, IptablesNames.MaxCommentLength));

    [Theory]
    [InlineData(29, true)]
    [InlineData(30, false)]
    public void Text_is_limited_to_the_length_asked_for(int length, bool accepted) =>
        AssertLengthLimit(t => IptablesNames.Text(t, 29), new string('t', length), accepted);

    [Fact]
    public void Text_at_the_comment_limit_is_accepted_and_one_more_character_is_not()
    {
        var limit = new string('x', IptablesNames.MaxCommentLength);
        Assert.Equal(255, IptablesNames.MaxCommentLength);
        Assert.Equal(limit, IptablesNames.Text(limit, IptablesNames.MaxCommentLength));
        Assert.Throws<ArgumentException>(() => IptablesNames.Text(limit + "x", IptablesNames.MaxCommentLength));
    }

    [Theory]
    [InlineData(256)]
    [InlineData(300)]
    [InlineData(10_000)]
    public void TruncatedComment_cuts_long_text_to_255_characters(int length)
    {
        var text = string.Concat(Enumerable.Range(0, length).Select(i => (char)('a' + (i % 26))));

        var comment = IptablesNames.TruncatedComment(text);

        Assert.Equal(text[..255], comment);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("x")]
    public void TruncatedComment_leaves_text_within_the_limit_unchanged(string text) =>
        Assert.Equal(text, IptablesNames.TruncatedComment(text));

    [Fact]
    public void TruncatedComment_still_refuses_a_quote_in_the_part_it_keeps()
    {
        var text = "Policy \"x\" " + new string('y', 300);
        Assert.Throws<ArgumentException>(() => IptablesNames.TruncatedComment(text));
    }

    [Fact]
    public void TruncatedComment_checks_only_the_part_it_keeps()
    {
        // A quote past the cut never reaches the rule, so the text is usable once shortened.
        var text = new string('y', 255) + "\"tail\"";
        Assert.Equal(new string('y', 255), IptablesNames.TruncatedComment(text));
    }

    /// <summary>
    /// A newline at the very end gets past a <c>$</c>-anchored pattern (.NET's <c>$</c> also matches
    /// before a final newline), and would break the restore line in two.
    /// </summary>
    [Theory]
    [InlineData("chain", "felix-x\n")]
    [InlineData("ipset", "felix-v4-x\n")]
    [InlineData("interface", "cali1\n")]
    [InlineData("interface", "cali+\n")]
    [InlineData("text", "comment\n")]
    [InlineData("truncated", "comment\n")]
    public void A_trailing_newline_is_refused_by_every_name_and_text_check(string check, string value)
    {
        Func<string, string> validate = check switch
        {
            "chain" => IptablesNames.Chain,
            "ipset" => IptablesNames.IpSet,
            "interface" => IptablesNames.Interface,
            "text" => t => IptablesNames.Text(t, IptablesNames.MaxCommentLength),
            _ => IptablesNames.TruncatedComment,
        };
        Assert.Throws<ArgumentException>(() => validate(value));
    }

    private static void AssertLengthLimit(Func<string, string> validate, string value, bool accepted)
    {
        if (accepted)
        {
            Assert.Equal(value, validate(value));
        }
        else
        {
            Assert.Throws<ArgumentException>(() => validate(value));
        }
    }
}
