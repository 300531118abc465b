#!/usr/bin/env bash
# Shell completion of the law command (law-core-compat), for bash and zsh.
# Source it: source "$(law completion)" ""
# Task families and their parameters come from the index file that 'law index' writes
# ($LAW_INDEX_FILE, else $LAW_HOME/index, else ~/.law/index); nothing is imported.

_law_index_file() {
    if [ -n "${LAW_INDEX_FILE}" ]; then
        echo "${LAW_INDEX_FILE}"
    else
        echo "${LAW_HOME:-${HOME}/.law}/index"
    fi
}

_law_complete() {
    # in zsh: bash's word splitting and 0-based arrays
    [ -n "${ZSH_VERSION}" ] && setopt localoptions shwordsplit ksharrays
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local index_file
    index_file="$(_law_index_file)"
    local words=""
    COMPREPLY=()

    if [ "${COMP_CWORD}" -eq 1 ]; then
        words="run index config software completion location quickstart luigid --help --version"
    else
        case "${COMP_WORDS[1]}" in
        run)
            if [ "${COMP_CWORD}" -eq 2 ]; then
                [ -f "${index_file}" ] && words="$(cut -d: -f2 "${index_file}")"
            else
                local family="${COMP_WORDS[2]}" params=""
                if [ -f "${index_file}" ]; then
                    params="$(awk -F: -v f="${family}" '$2 == f { print $3 }' "${index_file}")"
                fi
                local p
                for p in ${params}; do
                    words="${words} --${p}"
                done
                words="${words} --local-scheduler --workers --log-level --scheduler-host"
                words="${words} --scheduler-port --print-status --print-deps --print-output"
                words="${words} --remove-output --fetch-output --help"
            fi
            ;;
        index)
            words="--modules --no-externals --remove --show --location --quiet --verbose --help"
            ;;
        config)
            words="--remove --expand --location --help"
            ;;
        *)
            words="--help"
            ;;
        esac
    fi

    local w
    for w in ${words}; do
        case "${w}" in
        "${cur}"*) COMPREPLY+=("${w}") ;;
        esac
    done
}

if [ -n "${ZSH_VERSION}" ]; then
    (( $+functions[compdef] )) || { autoload -Uz compinit && compinit; }
    autoload -Uz bashcompinit && bashcompinit
fi
complete -o default -F _law_complete law
