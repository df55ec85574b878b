// Reads a declarative Jenkinsfile back as JSON, for tests/ci/test_jenkinsfile.py: the file is compiled (a
// syntax error exits 2 with the compiler's message) and run with every Jenkins step and directive recorded as
// a node {step, args, env, children} instead of executed. Variables Jenkins provides at run time (env,
// WORKSPACE) read as unknowns, falsy in conditions and "${name}" in strings.
//
//   groovy read_jenkinsfile.groovy Jenkinsfile
import groovy.json.JsonOutput
import org.codehaus.groovy.control.CompilationFailedException
import org.codehaus.groovy.control.CompilerConfiguration

class Unknown {
    final String path

    Unknown(String path) { this.path = path }

    def propertyMissing(String name) { new Unknown("${path}.${name}") }

    def methodMissing(String name, args) { new Unknown("${path}.${name}()") }

    boolean asBoolean() { false }

    String toString() { '${' + path + '}' }
}

// Field names start with an underscore so they cannot shadow a step (`script`, `name`, `args`).
class Step {
    String _step
    List _args = []
    Map _env = [:]
    List _children = []
    Script _script

    Step record(String name, Object[] arguments, boolean attach) {
        List plain = arguments.toList()
        Closure body = plain && plain.last() instanceof Closure ? (Closure) plain.remove(plain.size() - 1) : null
        Step step = new Step(_step: name, _args: plain, _script: _script)
        if (attach) {
            _children << step
        }
        if (body != null) {
            body.delegate = step
            body.resolveStrategy = Closure.DELEGATE_FIRST
            body.call()
        }
        step
    }

    def methodMissing(String name, args) {
        Object[] arguments = args as Object[]
        // Methods the Jenkinsfile defines itself run for real.
        if (_script.metaClass.respondsTo(_script, name, arguments)) {
            return _script.invokeMethod(name, arguments)
        }
        record(name, arguments, true)
    }

    def propertyMissing(String name) { new Unknown(name) }

    void propertyMissing(String name, value) { _env[name] = value }

    Map toMap() {
        [step: _step, args: plain(_args), env: plain(_env), children: _children*.toMap()]
    }

    static plain(value) {
        if (value instanceof Step) return value.toMap()
        if (value instanceof Map) return value.collectEntries { k, v -> [(k.toString()): plain(v)] }
        if (value instanceof List) return value.collect { plain(it) }
        if (value instanceof Unknown || value instanceof GString) return value.toString()
        value
    }
}

abstract class RecordedPipeline extends Script {
    Step root

    // `pipeline { }` is the document; a step called from a method of the file (a credential binding built in
    // a helper) is recorded where its result is used.
    def methodMissing(String name, args) {
        root.record(name, args as Object[], name == 'pipeline')
    }

    def propertyMissing(String name) { new Unknown(name) }

    // Script.setProperty writes to the binding, so the root is set through a method.
    void recordInto(Step step) { root = step }
}

if (args.length != 1) {
    System.err.println('usage: groovy read_jenkinsfile.groovy JENKINSFILE')
    System.exit(64)
}
File source = new File(args[0])
CompilerConfiguration configuration = new CompilerConfiguration()
configuration.scriptBaseClass = RecordedPipeline.name
GroovyShell shell = new GroovyShell(this.class.classLoader, new Binding(), configuration)
RecordedPipeline script
try {
    // Parsed as text: parsing the file would put its folder on the class path, where Groovy then looks for
    // a class named after every capitalised variable (a repository makes that very slow).
    script = (RecordedPipeline) shell.parse(source.text, source.name)
} catch (CompilationFailedException error) {
    System.err.println(error.message)
    System.exit(2)
}
script.recordInto(new Step(_step: 'Jenkinsfile', _script: script))
script.run()
println JsonOutput.toJson(script.root.toMap())
