using System.Text;

namespace Felix.Agent.Hosting.Configuration;

/// <summary>
/// The commented configuration file printed by <c>felix --print-config</c>, which the Debian package
/// ships as <c>/etc/felix/felix.cfg</c>: every parameter of <see cref="ConfigParameters"/>, commented
/// out, with what it does, what it accepts and its default. Generated from the parameter table so the
/// shipped file can never list a parameter the agent does not know, or a stale default.
/// </summary>
/// <remarks>
/// The text carries no version: dpkg asks the operator about a modified conffile whenever the
/// packaged one changes, and a version line would change it on every release.
/// </remarks>
public static class ConfigTemplate
{
    /// <summary>
    /// Each parameter is one block: the description line, the allowed-values line (with the default
    /// when it is not a value one could write), then <c>#Name = default</c>. Uncommenting any
    /// setting line as it stands keeps the agent's behaviour: either the default itself, or an empty
    /// value, which means "not set".
    /// </summary>
    public static string Render()
    {
        var text = new StringBuilder();
        text.Append($"""
            # Configuration of felix, the per-host dataplane agent, read once at start-up:
            # after a change, run 'systemctl restart felix'.
            #
            # Format: 'Name = value' lines, names in any case; '[section]' lines are ignored;
            # lines starting with '#' or ';' are comments. Every parameter is listed below,
            # commented out, with its default; uncomment a line to set it. Usually only
            # EtcdEndpoints (and, for TLS, EtcdCaFile, EtcdCertFile, EtcdKeyFile) needs setting.
            #
            # Precedence, first match wins: the environment (FELIX_<NAME>, e.g. FELIX_ETCDENDPOINTS),
            # this file, the datastore (/calico/v1/host/<host>/config/<Name>, then
            # /calico/v1/config/<Name>), the default. Parameters marked 'local only' are never read
            # from the datastore. A bad value stops start-up with a message naming it; an unknown
            # name is logged as a warning and ignored.

            """);
        foreach (var parameter in ConfigParameters.All)
        {
            text.Append('\n');
            text.Append("# ").Append(Sentence(parameter.Description + (parameter.LocalOnly ? " (local only)" : "")))
                .Append('\n');
            if (IsWritableDefault(parameter))
            {
                text.Append("# Allowed: ").Append(Sentence(parameter.Allowed)).Append('\n');
                text.Append('#').Append(parameter.Name).Append(" = ").Append(parameter.DefaultText).Append('\n');
            }
            else
            {
                text.Append("# Allowed: ").Append(Sentence(parameter.Allowed))
                    .Append(" Default: ").Append(Sentence(parameter.DefaultText)).Append('\n');
                text.Append('#').Append(parameter.Name).Append(" =\n");
            }
        }
        return text.ToString();
    }

    /// <summary>
    /// Whether the default text is itself a value the parameter accepts. Some defaults are
    /// descriptions ("this machine's host name", "none" for an optional file); writing those as a
    /// value would turn an uncommented line into a start-up error.
    /// An absent default is never written, which also keeps the file-path parsers from looking at the
    /// file system of the machine that builds the package.
    /// </summary>
    internal static bool IsWritableDefault(ConfigParameter parameter) =>
        parameter.DefaultBoxed() is not null && parameter.TryParseBoxed(parameter.DefaultText, out _);

    private static string Sentence(string text) => text.EndsWith('.') ? text : text + ".";
}
